//! Forms and form versions in the database.

use chrono::Utc;
use diesel::prelude::*;

use camket_schema::models::FormVersionRow;
use camket_schema::tables::{form_versions, forms};
use camket_schema::{with_conn, write_tx, Db, DbError};
use survey_forms::{FormDefinition, FormVersion};

use super::versions::{self, FormState, PublishDecision, PublishedVersion};

/// A form with what is known of its versions.
#[derive(Debug, Clone)]
pub struct FormRecord {
    pub id: String,
    pub state: FormState,
    pub versions: Vec<(PublishedVersion, FormVersionRow)>,
}

impl FormRecord {
    /// The versions' summaries, for the pure rules.
    pub fn published(&self) -> Vec<PublishedVersion> {
        self.versions.iter().map(|(v, _)| v.clone()).collect()
    }

    /// The row of the version phones should use.
    pub fn current_row(&self) -> Option<&FormVersionRow> {
        let current = versions::current(&self.published())?;
        self.versions
            .iter()
            .find(|(v, _)| v.version == current)
            .map(|(_, row)| row)
    }

    /// The row of one version.
    pub fn version_row(&self, version: FormVersion) -> Option<&FormVersionRow> {
        self.versions
            .iter()
            .find(|(v, _)| v.version == version)
            .map(|(_, row)| row)
    }
}

fn to_record(id: String, state: FormState, rows: Vec<FormVersionRow>) -> FormRecord {
    let versions = rows
        .into_iter()
        .map(|row| {
            let published = PublishedVersion {
                version: FormVersion(u32::try_from(row.version).unwrap_or(0)),
                hash: row.content_hash.clone(),
                retired: row.retired,
            };
            (published, row)
        })
        .collect();
    FormRecord {
        id,
        state,
        versions,
    }
}

/// Every form with its versions, by id.
pub fn list(db: &Db) -> Result<Vec<FormRecord>, DbError> {
    let (heads, rows): (Vec<(String, FormState)>, Vec<FormVersionRow>) = with_conn!(db, |conn| {
        let heads = forms::table
            .select((forms::id, forms::state))
            .order(forms::id)
            .load(conn)?;
        let rows = form_versions::table
            .select(FormVersionRow::as_select())
            .order((form_versions::form_id, form_versions::version))
            .load(conn)?;
        (heads, rows)
    });
    Ok(heads
        .into_iter()
        .map(|(id, state)| {
            let mine = rows.iter().filter(|r| r.form_id == id).cloned().collect();
            to_record(id, state, mine)
        })
        .collect())
}

/// One form with its versions.
pub fn get(db: &Db, form_id: &str) -> Result<Option<FormRecord>, DbError> {
    let found: Option<(FormState, Vec<FormVersionRow>)> = with_conn!(db, |conn| {
        let state: Option<FormState> = forms::table
            .find(form_id)
            .select(forms::state)
            .first(conn)
            .optional()?;
        match state {
            Some(state) => {
                let rows = form_versions::table
                    .filter(form_versions::form_id.eq(form_id))
                    .select(FormVersionRow::as_select())
                    .order(form_versions::version)
                    .load(conn)?;
                Some((state, rows))
            }
            None => None,
        }
    });
    Ok(found.map(|(state, rows)| to_record(form_id.to_string(), state, rows)))
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublishOutcome {
    Created,
    Unchanged,
}

/// Why a definition was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishRefusal {
    #[error("version {0} is too large")]
    VersionTooLarge(FormVersion),
    /// The version rules refuse it (`versions::decide_publish` says why).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Storage(#[from] DbError),
}

camket_schema::storage_errors_into!(PublishRefusal);

/// Why a submission may not be made against a form version.
#[derive(Debug, thiserror::Error)]
pub enum VersionRefusal {
    #[error("no form '{0}'")]
    UnknownForm(String),
    /// The version rules refuse it (`versions::accepts` says why).
    #[error("{0}")]
    NotAccepted(String),
    #[error("the stored definition cannot be read: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Storage(#[from] DbError),
}

camket_schema::storage_errors_into!(VersionRefusal);

/// Publishes a checked definition under the version rules.
pub fn publish(
    db: &Db,
    definition: &FormDefinition,
    by: Option<i64>,
) -> Result<PublishOutcome, PublishRefusal> {
    let id = definition.id.0.clone();
    let hash = definition.content_hash();
    let now = Utc::now().naive_utc();
    let row = FormVersionRow {
        form_id: id.clone(),
        version: i32::try_from(definition.version.0)
            .map_err(|_| PublishRefusal::VersionTooLarge(definition.version))?,
        content_hash: hash.clone(),
        definition: definition.canonical_json(),
        title_vi: definition.title.vi.clone(),
        title_en: definition.title.en.clone(),
        retired: false,
        published_at: now,
        published_by: by,
    };
    write_tx!(db, |conn| {
        let state: Option<FormState> = forms::table
            .find(&id)
            .select(forms::state)
            .first(conn)
            .optional()?;
        let existing: Vec<(i32, String, bool)> = form_versions::table
            .filter(form_versions::form_id.eq(&id))
            .select((
                form_versions::version,
                form_versions::content_hash,
                form_versions::retired,
            ))
            .load(conn)?;
        let existing: Vec<PublishedVersion> = existing
            .into_iter()
            .map(|(v, hash, retired)| PublishedVersion {
                version: FormVersion(u32::try_from(v).unwrap_or(0)),
                hash,
                retired,
            })
            .collect();
        match versions::decide_publish(&existing, definition.version, &hash) {
            PublishDecision::Unchanged => return Ok(PublishOutcome::Unchanged),
            PublishDecision::Refuse(why) => return Err(PublishRefusal::Refused(why)),
            PublishDecision::Create => {}
        }
        if state.is_none() {
            diesel::insert_into(forms::table)
                .values((
                    forms::id.eq(&id),
                    forms::state.eq(FormState::Open),
                    forms::created_at.eq(now),
                    forms::updated_at.eq(now),
                ))
                .execute(conn)?;
        } else {
            diesel::update(forms::table.find(&id))
                .set(forms::updated_at.eq(now))
                .execute(conn)?;
        }
        diesel::insert_into(form_versions::table)
            .values(&row)
            .execute(conn)?;
        Ok(PublishOutcome::Created)
    })
}

/// Sets a form's lifecycle state.
pub fn set_state(db: &Db, form_id: &str, state: FormState) -> Result<bool, DbError> {
    let now = Utc::now().naive_utc();
    let changed = write_tx!(db, |conn| {
        diesel::update(forms::table.find(form_id))
            .set((forms::state.eq(state), forms::updated_at.eq(now)))
            .execute(conn)
            .map_err(DbError::from)
    })?;
    Ok(changed == 1)
}

/// Retires one version: it is still served, but no longer accepted.
pub fn retire(db: &Db, form_id: &str, version: FormVersion) -> Result<bool, DbError> {
    let version = i32::try_from(version.0).unwrap_or(i32::MAX);
    let changed = write_tx!(db, |conn| {
        diesel::update(
            form_versions::table
                .filter(form_versions::form_id.eq(form_id))
                .filter(form_versions::version.eq(version)),
        )
        .set(form_versions::retired.eq(true))
        .execute(conn)
        .map_err(DbError::from)
    })?;
    Ok(changed == 1)
}

/// The definition of a version a submission may be made against, or why not.
pub fn accepting_version(
    db: &Db,
    form_id: &str,
    version: FormVersion,
) -> Result<FormDefinition, VersionRefusal> {
    let record = get(db, form_id)?.ok_or_else(|| VersionRefusal::UnknownForm(form_id.into()))?;
    versions::accepts(form_id, record.state, &record.published(), version)
        .map_err(VersionRefusal::NotAccepted)?;
    let row = record
        .version_row(version)
        .ok_or_else(|| VersionRefusal::Unreadable("the accepted version has no row".into()))?;
    serde_json::from_str(&row.definition).map_err(|e| VersionRefusal::Unreadable(e.to_string()))
}
