//! The roster a phone carries offline: the user's villages and their households,
//! as the two CSV media files the XForms pick from (`select` from an external
//! instance), with what each household still owes so the working group knows
//! what to ask for at the door.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use camket_schema::domain::AreaPath;
use camket_schema::models::{AreaRow, HouseholdRow};
use camket_schema::tables::households;
use camket_schema::{with_conn, Db, DbError};

use crate::access::Principal;
use crate::coverage::rules::{village_gaps, TargetKind};
use crate::error::ApiError;

/// A household as the phone lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterHousehold {
    pub id: i64,
    pub village_id: i64,
    pub code: String,
    pub head_name: String,
    pub address: String,
    pub categories: String,
    /// What it still owes, in Vietnamese, in the campaign's order.
    pub owes: Vec<String>,
}

/// The two roster files' contents.
#[derive(Debug, Clone, PartialEq)]
pub struct Roster {
    pub villages: String,
    pub households: String,
}

fn csv_text(rows: Vec<Vec<String>>) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for row in rows {
        // Writing to memory fails only on I/O, which a Vec never has.
        let _ = writer.write_record(&row);
    }
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// The roster files for these villages and households. Pure: the same input
/// gives the same bytes, so the files' hashes change only when the roster does.
pub fn files(villages: &[AreaRow], households: &[RosterHousehold]) -> Roster {
    let mut village_rows = vec![vec!["name".into(), "label".into(), "code".into()]];
    for village in villages {
        village_rows.push(vec![
            village.id.0.to_string(),
            village.name.clone(),
            village.code.clone(),
        ]);
    }
    let mut household_rows = vec![[
        "name",
        "label",
        "village",
        "code",
        "head",
        "address",
        "categories",
        "owes",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect::<Vec<String>>()];
    for household in households {
        household_rows.push(vec![
            household.id.to_string(),
            format!(
                "{} · {} — {}",
                household.code, household.head_name, household.address
            ),
            household.village_id.to_string(),
            household.code.clone(),
            household.head_name.clone(),
            household.address.clone(),
            household.categories.clone(),
            household.owes.join("; "),
        ]);
    }
    Roster {
        villages: csv_text(village_rows),
        households: csv_text(household_rows),
    }
}

/// The villages under the user's areas, by id.
fn villages_of(db: &Db, principal: &Principal) -> Result<Vec<AreaRow>, DbError> {
    let mut found: BTreeMap<i64, AreaRow> = BTreeMap::new();
    for area in &principal.areas {
        for village in crate::coverage::store::villages_under(db, &area.path)? {
            found.insert(village.id.0, village);
        }
    }
    Ok(found.into_values().collect())
}

fn households_of(db: &Db, village_ids: &[i64]) -> Result<Vec<HouseholdRow>, DbError> {
    let mut rows = Vec::new();
    for chunk in village_ids.chunks(500) {
        let part: Vec<HouseholdRow> = with_conn!(db, |conn| households::table
            .filter(households::village_id.eq_any(chunk))
            .filter(households::active.eq(true))
            .select(HouseholdRow::as_select())
            .order(households::id)
            .load(conn)?);
        rows.extend(part);
    }
    Ok(rows)
}

/// Where a campaign and one of the user's areas meet: the deeper of the two.
fn overlap(scope: &AreaPath, area: &AreaPath) -> Option<AreaPath> {
    if scope.contains(area) {
        Some(area.clone())
    } else if area.contains(scope) {
        Some(scope.clone())
    } else {
        None
    }
}

/// What each household still owes to the campaigns running now.
fn owed(
    db: &Db,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<BTreeMap<i64, Vec<String>>, ApiError> {
    let mut owes: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for campaign in crate::campaigns::all(db)? {
        if campaign.window.end <= now {
            continue;
        }
        let mut seen = BTreeSet::new();
        for area in &principal.areas {
            let Some(path) = overlap(&campaign.scope_path, &area.path) else {
                continue;
            };
            let mut facts = crate::coverage::store::subtree_facts(db, &path)?;
            for village in crate::coverage::store::villages_under(db, &path)? {
                if !seen.insert(village.id.0) {
                    continue;
                }
                let (homes, subs) = facts.remove(&village.id.0).unwrap_or_default();
                let gaps = village_gaps(
                    &campaign.targets,
                    &homes,
                    &subs,
                    &campaign.window,
                    campaign.row.starts_on,
                    now,
                );
                for gap in gaps {
                    let (Some(household), false) = (gap.household_id, gap.pending) else {
                        continue;
                    };
                    let label = TargetKind::parse(&gap.kind)
                        .map(TargetKind::label_vi)
                        .unwrap_or("?")
                        .to_string();
                    let list = owes.entry(household).or_default();
                    if !list.contains(&label) {
                        list.push(label);
                    }
                }
            }
        }
    }
    Ok(owes)
}

/// The roster of the user's villages as it stands now.
pub fn for_user(db: &Db, principal: &Principal) -> Result<Roster, ApiError> {
    let villages = villages_of(db, principal)?;
    let ids: Vec<i64> = villages.iter().map(|v| v.id.0).collect();
    let mut owes = owed(db, principal, Utc::now())?;
    let households: Vec<RosterHousehold> = households_of(db, &ids)?
        .into_iter()
        .map(|row| RosterHousehold {
            id: row.id.0,
            village_id: row.village_id.0,
            owes: owes.remove(&row.id.0).unwrap_or_default(),
            code: row.code,
            head_name: row.head_name,
            address: row.address,
            // Stored as a JSON list; the phone shows it as words.
            categories: serde_json::from_str::<Vec<String>>(&row.categories)
                .map(|list| list.join(" "))
                .unwrap_or(row.categories),
        })
        .collect();
    Ok(files(&villages, &households))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_files_quote_what_needs_quoting_and_list_what_is_owed() {
        let household = RosterHousehold {
            id: 101,
            village_id: 11,
            code: "TD-001".into(),
            head_name: "Nguyễn Văn An".into(),
            address: "Xóm 1, \"Đồng\"".into(),
            categories: "returnee".into(),
            owes: vec![
                "Hộ cam kết phát hiện, tố giác".into(),
                "Người trở về cam kết".into(),
            ],
        };
        let roster = files(&[], &[household]);
        assert_eq!(roster.villages, "name,label,code\n");
        let mut lines = roster.households.lines();
        assert_eq!(
            lines.next(),
            Some("name,label,village,code,head,address,categories,owes")
        );
        assert_eq!(
            lines.next(),
            Some("101,\"TD-001 · Nguyễn Văn An — Xóm 1, \"\"Đồng\"\"\",11,TD-001,Nguyễn Văn An,\"Xóm 1, \"\"Đồng\"\"\",returnee,\"Hộ cam kết phát hiện, tố giác; Người trở về cam kết\"")
        );
    }
}
