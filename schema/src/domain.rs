//! Domain types shared by every part of camket.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use survey_forms::vocabulary::{CommitmentKind, HouseholdCategory};

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_newtype!(
    /// Identifies an area (province, district, commune or village).
    AreaId
);
id_newtype!(
    /// Identifies a household.
    HouseholdId
);
id_newtype!(
    /// Identifies a user account.
    UserId
);

/// The level of an area in the administrative hierarchy, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    Province,
    District,
    Commune,
    Village,
}

impl AreaLevel {
    /// All levels, highest first.
    pub const ALL: [AreaLevel; 4] = [
        AreaLevel::Province,
        AreaLevel::District,
        AreaLevel::Commune,
        AreaLevel::Village,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::Province => "province",
            AreaLevel::District => "district",
            AreaLevel::Commune => "commune",
            AreaLevel::Village => "village",
        }
    }

    /// Whether an area of level `child` may sit directly under one of this level.
    /// Levels may be skipped (province > commune since the 2025 reform) but never reversed.
    pub fn may_contain(self, child: AreaLevel) -> bool {
        child > self
    }
}

impl fmt::Display for AreaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown name for an enum-like domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}'; expected one of: {expected}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl FromStr for AreaLevel {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AreaLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "level",
                value: s.to_string(),
                expected: "province, district, commune, village",
            })
    }
}

/// What a user may do; see DESIGN.md §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Member of a village working group: fills forms for assigned villages.
    Surveyor,
    /// Commune police / steering committee: reviews submissions in their area.
    Officer,
    /// District and province staff: read-only coverage and reports.
    Viewer,
    /// System operator: manages areas, households, users, forms and campaigns.
    Admin,
}

impl Role {
    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Surveyor => "surveyor",
            Role::Officer => "officer",
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "surveyor" => Ok(Role::Surveyor),
            "officer" => Ok(Role::Officer),
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            _ => Err(UnknownName {
                kind: "role",
                value: s.to_string(),
                expected: "surveyor, officer, viewer, admin",
            }),
        }
    }
}

/// The materialised path of an area: the ids from the root down, e.g. `/1/5/23/`.
/// An area's subtree is every path that starts with its own, which both backends
/// answer as one index range scan (`path >= lower AND path < upper`).
///
/// It is also the column type of `areas.path` and `submissions.area_path`: rows
/// read from the database carry it, not a bare string.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct AreaPath(String);

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for AreaPath
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        String::from_sql(bytes).map(AreaPath)
    }
}

impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for AreaPath
where
    DB: diesel::backend::Backend,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, DB>,
    ) -> diesel::serialize::Result {
        self.0.as_str().to_sql(out)
    }
}

impl AreaPath {
    /// The path of a root area.
    pub fn root(id: AreaId) -> AreaPath {
        AreaPath(format!("/{id}/"))
    }

    /// The path of a child of this area.
    pub fn child(&self, id: AreaId) -> AreaPath {
        AreaPath(format!("{}{id}/", self.0))
    }

    /// Wraps a path read from the database.
    pub fn from_stored(path: String) -> AreaPath {
        AreaPath(path)
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this area or lies below it.
    pub fn contains(&self, other: &AreaPath) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The half-open range `[lower, upper)` of paths in this subtree. `0` follows
    /// `/` in byte order, so `upper` is just past every path with this prefix.
    pub fn subtree_range(&self) -> (String, String) {
        let mut upper = self.0.clone();
        upper.pop();
        upper.push('0');
        (self.0.clone(), upper)
    }

    /// Ids from the root down to this area.
    pub fn ids(&self) -> Vec<AreaId> {
        self.0
            .split('/')
            .filter_map(|part| part.parse().ok().map(AreaId))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_range_covers_descendants_only() {
        let commune = AreaPath::root(AreaId(1)).child(AreaId(5));
        let (lower, upper) = commune.subtree_range();
        let inside = commune.child(AreaId(23));
        let sibling_prefix = AreaPath::root(AreaId(1)).child(AreaId(50));
        assert!(inside.as_str() >= lower.as_str() && inside.as_str() < upper.as_str());
        assert!(commune.as_str() >= lower.as_str() && commune.as_str() < upper.as_str());
        assert!(
            !(sibling_prefix.as_str() >= lower.as_str()
                && sibling_prefix.as_str() < upper.as_str())
        );
        assert!(commune.contains(&inside));
        assert!(!commune.contains(&sibling_prefix));
        assert_eq!(inside.ids(), vec![AreaId(1), AreaId(5), AreaId(23)]);
    }

    #[test]
    fn levels_may_skip_but_not_reverse() {
        assert!(AreaLevel::Province.may_contain(AreaLevel::Commune));
        assert!(!AreaLevel::Village.may_contain(AreaLevel::Commune));
        assert!(!AreaLevel::Commune.may_contain(AreaLevel::Commune));
        assert_eq!("district".parse::<AreaLevel>(), Ok(AreaLevel::District));
        assert!("hamlet".parse::<AreaLevel>().is_err());
        assert_eq!("officer".parse::<Role>(), Ok(Role::Officer));
    }
}
