//! User accounts in the database: plain queries that answer in storage terms
//! (`DbError`) or with a domain refusal; scope decisions are the handlers'.

use chrono::Utc;
use diesel::prelude::*;

use camket_schema::domain::AreaPath;
use camket_schema::models::{NewUser, UserRow};
use camket_schema::tables::{areas, auth_sessions, user_areas, users};
use camket_schema::{with_conn, write_tx, Db, DbError};

use crate::access::Scope;
use camket_schema::domain::Role;

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateRefusal {
    #[error("the username '{0}' is taken")]
    UsernameTaken(String),
    #[error(transparent)]
    Storage(#[from] DbError),
}

camket_schema::storage_errors_into!(CreateRefusal);

/// A new account's fields (the password already hashed).
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub area_ids: &'a [i64],
}

/// The paths of those of `ids` that exist, with their ids.
pub fn area_paths(db: &Db, ids: &[i64]) -> Result<Vec<(i64, AreaPath)>, DbError> {
    Ok(with_conn!(db, |conn| {
        areas::table
            .filter(areas::id.eq_any(ids))
            .select((areas::id, areas::path))
            .load(conn)?
    }))
}

/// The ids of areas by code, for those codes that exist.
pub fn area_ids_by_code(db: &Db, codes: &[String]) -> Result<Vec<(i64, String)>, DbError> {
    Ok(with_conn!(db, |conn| {
        areas::table
            .filter(areas::code.eq_any(codes))
            .select((areas::id, areas::code))
            .load(conn)?
    }))
}

/// Creates an account bound to areas.
pub fn create(db: &Db, account: &NewAccount<'_>) -> Result<i64, CreateRefusal> {
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        let taken: i64 = users::table
            .filter(users::username.eq(account.username))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(CreateRefusal::UsernameTaken(account.username.to_string()));
        }
        let id: i64 = diesel::insert_into(users::table)
            .values(&NewUser {
                username: account.username,
                full_name: account.full_name,
                password_hash: account.password_hash,
                role: account.role,
                active: true,
                created_at: now,
                updated_at: now,
            })
            .returning(users::id)
            .get_result(conn)?;
        for area_id in account.area_ids {
            diesel::insert_into(user_areas::table)
                .values((user_areas::user_id.eq(id), user_areas::area_id.eq(area_id)))
                .execute(conn)?;
        }
        Ok(id)
    })
}

/// The areas an account is bound to: (id, path), by id.
pub type BoundAreas = Vec<(i64, AreaPath)>;

/// One account with the areas it is bound to.
pub fn get(db: &Db, id: i64) -> Result<Option<(UserRow, BoundAreas)>, DbError> {
    Ok(with_conn!(db, |conn| {
        let Some(user) = users::table
            .find(id)
            .select(UserRow::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let bound: BoundAreas = user_areas::table
            .inner_join(areas::table)
            .filter(user_areas::user_id.eq(id))
            .select((areas::id, areas::path))
            .order(areas::id)
            .load(conn)?;
        Some((user, bound))
    }))
}

/// The users with these ids and the areas each is bound to, by id, in two
/// queries (a page of the user list reads 500 of them at once).
pub fn get_many(db: &Db, ids: &[i64]) -> Result<Vec<(UserRow, BoundAreas)>, DbError> {
    Ok(with_conn!(db, |conn| {
        let rows: Vec<UserRow> = users::table
            .filter(users::id.eq_any(ids))
            .select(UserRow::as_select())
            .order(users::id)
            .load(conn)?;
        let bound: Vec<(i64, i64, AreaPath)> = user_areas::table
            .inner_join(areas::table)
            .filter(user_areas::user_id.eq_any(ids))
            .select((user_areas::user_id, areas::id, areas::path))
            .order((user_areas::user_id, areas::id))
            .load(conn)?;
        let mut by_user: std::collections::HashMap<i64, BoundAreas> =
            std::collections::HashMap::new();
        for (user, area, path) in bound {
            by_user.entry(user).or_default().push((area, path));
        }
        rows.into_iter()
            .map(|row| {
                let areas = by_user.remove(&row.id.0).unwrap_or_default();
                (row, areas)
            })
            .collect::<Vec<_>>()
    }))
}

/// Ids of users bound to at least one area inside `scope`, after `after`, by id.
pub fn ids_in_scope(db: &Db, scope: &Scope, after: i64, limit: i64) -> Result<Vec<i64>, DbError> {
    let mut ids: Vec<i64> = Vec::new();
    for (lower, upper) in scope.path_ranges() {
        let found: Vec<i64> = with_conn!(db, |conn| {
            user_areas::table
                .inner_join(areas::table)
                .filter(areas::path.ge(&lower))
                .filter(areas::path.lt(&upper))
                .filter(user_areas::user_id.gt(after))
                .select(user_areas::user_id)
                .distinct()
                .order(user_areas::user_id)
                .limit(limit)
                .load(conn)?
        });
        ids.extend(found);
    }
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(ids)
}

/// Sets the password of these accounts; returns how many exist.
pub fn set_password_hash(db: &Db, usernames: &[&str], hash: &str) -> Result<usize, DbError> {
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        diesel::update(users::table.filter(users::username.eq_any(usernames)))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
            .execute(conn)
            .map_err(DbError::from)
    })
}

/// Binds an account to exactly these areas.
pub fn set_areas(db: &Db, id: i64, area_ids: &[i64]) -> Result<(), DbError> {
    write_tx!(db, |conn| {
        diesel::delete(user_areas::table.filter(user_areas::user_id.eq(id))).execute(conn)?;
        for area_id in area_ids {
            diesel::insert_into(user_areas::table)
                .values((user_areas::user_id.eq(id), user_areas::area_id.eq(area_id)))
                .execute(conn)?;
        }
        Ok::<_, DbError>(())
    })
}

/// Activates or deactivates an account; deactivating ends its logins at once.
pub fn set_active(db: &Db, id: i64, active: bool) -> Result<(), DbError> {
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        diesel::update(users::table.find(id))
            .set((users::active.eq(active), users::updated_at.eq(now)))
            .execute(conn)?;
        if !active {
            diesel::update(auth_sessions::table.filter(auth_sessions::user_id.eq(id)))
                .filter(auth_sessions::revoked_at.is_null())
                .set((
                    auth_sessions::revoked_at.eq(Some(now)),
                    auth_sessions::revoked_reason.eq(Some("account deactivated")),
                ))
                .execute(conn)?;
        }
        Ok::<_, DbError>(())
    })
}
