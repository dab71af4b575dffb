//! Report reads beyond coverage: the approved household surveys and the
//! flagged submissions still waiting for review, in a subtree, as of a time.
//! Plain queries in storage terms (`DbError`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use camket_schema::domain::{AreaPath, SubmissionStatus};
use camket_schema::tables::submissions;
use camket_schema::{with_conn, Db, DbError};

/// The live approved household surveys of a subtree approved by `as_of`, oldest
/// first: (household, answers JSON).
pub fn approved_surveys(
    db: &Db,
    path: &AreaPath,
    as_of: DateTime<Utc>,
) -> Result<Vec<(Option<i64>, String)>, DbError> {
    let (lower, upper) = path.subtree_range();
    let as_of = as_of.naive_utc();
    Ok(with_conn!(db, |conn| submissions::table
        .filter(submissions::area_path.ge(&lower))
        .filter(submissions::area_path.lt(&upper))
        .filter(submissions::form_id.eq("household-survey"))
        .filter(submissions::status.eq(SubmissionStatus::Approved))
        .filter(submissions::approved_at.le(as_of))
        .filter(submissions::superseded_by.is_null())
        .order((submissions::collected_at, submissions::id))
        .select((submissions::household_id, submissions::answers))
        .load(conn)?))
}

/// How many flagged submissions of a subtree received by `as_of` still wait for review.
pub fn flagged_unreviewed(db: &Db, path: &AreaPath, as_of: DateTime<Utc>) -> Result<i64, DbError> {
    let (lower, upper) = path.subtree_range();
    let as_of = as_of.naive_utc();
    Ok(with_conn!(db, |conn| submissions::table
        .filter(submissions::area_path.ge(&lower))
        .filter(submissions::area_path.lt(&upper))
        .filter(submissions::status.eq(SubmissionStatus::Received))
        .filter(submissions::risk.gt(0))
        .filter(submissions::received_at.le(as_of))
        .count()
        .get_result(conn)?))
}
