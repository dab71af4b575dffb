//! The names pages show for ids: surveyors, households, villages, and each
//! submission's first photo for the queue's thumbnails. Read in one go per page.

use std::collections::HashMap;

use diesel::prelude::*;

use camket_schema::tables::{areas, households, submission_photos, users};
use camket_schema::{with_conn, Db, DbError};

/// Display names for the ids a page mentions.
#[derive(Debug, Default)]
pub struct Names {
    /// User id → full name.
    pub users: HashMap<i64, String>,
    /// Household id → (code, head of household).
    pub households: HashMap<i64, (String, String)>,
    /// Area id → name.
    pub areas: HashMap<i64, String>,
    /// Submission id → its first photo's id.
    pub first_photos: HashMap<i64, i64>,
}

impl Names {
    /// The user's name, or their id.
    pub fn user(&self, id: i64) -> String {
        self.users
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// The area's name, or its id.
    pub fn area(&self, id: i64) -> String {
        self.areas
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// "code · head", or the id.
    pub fn household(&self, id: i64) -> String {
        self.households
            .get(&id)
            .map(|(code, head)| format!("{code} · {head}"))
            .unwrap_or_else(|| format!("#{id}"))
    }
}

fn unique(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Loads the names of these users, households, areas and submissions' photos.
pub fn load(
    db: &Db,
    user_ids: Vec<i64>,
    household_ids: Vec<i64>,
    area_ids: Vec<i64>,
    submission_ids: Vec<i64>,
) -> Result<Names, DbError> {
    let (user_ids, household_ids, area_ids, submission_ids) = (
        unique(user_ids),
        unique(household_ids),
        unique(area_ids),
        unique(submission_ids),
    );
    with_conn!(db, |conn| {
        let users: Vec<(i64, String)> = users::table
            .filter(users::id.eq_any(&user_ids))
            .select((users::id, users::full_name))
            .load(conn)?;
        let households: Vec<(i64, String, String)> = households::table
            .filter(households::id.eq_any(&household_ids))
            .select((households::id, households::code, households::head_name))
            .load(conn)?;
        let areas: Vec<(i64, String)> = areas::table
            .filter(areas::id.eq_any(&area_ids))
            .select((areas::id, areas::name))
            .load(conn)?;
        let photos: Vec<(i64, i64)> = submission_photos::table
            .filter(submission_photos::submission_id.eq_any(&submission_ids))
            .select((submission_photos::submission_id, submission_photos::id))
            .order((submission_photos::submission_id, submission_photos::id))
            .load(conn)?;
        let mut first_photos = HashMap::new();
        for (submission, photo) in photos {
            first_photos.entry(submission).or_insert(photo);
        }
        Ok::<_, DbError>(Names {
            users: users.into_iter().collect(),
            households: households
                .into_iter()
                .map(|(id, code, head)| (id, (code, head)))
                .collect(),
            areas: areas.into_iter().collect(),
            first_photos,
        })
    })
}
