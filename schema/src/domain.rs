//! Domain types shared by every part of camket.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use survey_forms::vocabulary::{CommitmentKind, HouseholdCategory};

/// Declares an id: a `BigInt` column read and written as its own type, so that
/// a household id cannot be passed where a user id is meant.
macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                i64::from_sql(bytes).map($name)
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.0.to_sql(out)
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

/// Declares an enum stored as text: its variants and their stored names are
/// written once, and the enum gets `as_str`, `Display`, `FromStr` (an
/// [`UnknownName`] naming the expected values), serde under the same names, and
/// diesel's `Text` conversions on both backends, so that rows carry the enum and
/// no caller compares strings.
#[macro_export]
macro_rules! stored_enum {
    (
        $(#[$doc:meta])*
        $vis:vis enum $name:ident ($kind:literal) {
            $( $(#[$variant_doc:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize,
            ::diesel::expression::AsExpression, ::diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = ::diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$variant_doc])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and served name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        // Written by hand: the derive does not see the variants' stored names.
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .description(Some($kind))
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $name {}

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::UnknownName;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| $crate::domain::UnknownName {
                        kind: $kind,
                        value: text.to_string(),
                        expected: $crate::stored_enum!(@join $($text),+),
                    })
            }
        }

        impl<DB> ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            String: ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> ::diesel::deserialize::Result<Self> {
                Ok(String::from_sql(bytes)?.parse::<$name>()?)
            }
        }

        impl<DB> ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            str: ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, DB>,
            ) -> ::diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }
    };
    (@join $first:literal $(, $rest:literal)*) => {
        concat!($first $(, ", ", $rest)*)
    };
}

/// An unknown name for an enum-like domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}'; expected one of: {expected}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static str,
}

stored_enum! {
    /// The level of an area in the administrative hierarchy, highest first.
    pub enum AreaLevel ("level") {
        Province = "province",
        District = "district",
        Commune = "commune",
        Village = "village",
    }
}

impl AreaLevel {
    /// Whether an area of level `child` may sit directly under one of this level.
    /// Levels may be skipped (province > commune since the 2025 reform) but never reversed.
    pub fn may_contain(self, child: AreaLevel) -> bool {
        child > self
    }
}

stored_enum! {
    /// What a user may do.
    pub enum Role ("role") {
        /// Member of a village working group: fills forms for assigned villages.
        Surveyor = "surveyor",
        /// Commune police / steering committee: reviews submissions in their area.
        Officer = "officer",
        /// District and province staff: read-only coverage and reports.
        Viewer = "viewer",
        /// System operator: manages areas, households, users, forms and campaigns.
        Admin = "admin",
    }
}

stored_enum! {
    /// Where a submission stands in review.
    pub enum SubmissionStatus ("status") {
        Received = "received",
        Approved = "approved",
        Rejected = "rejected",
        HasIssues = "has_issues",
    }
}

stored_enum! {
    /// The two photo formats accepted.
    pub enum PhotoFormat ("photo format") {
        Jpeg = "jpeg",
        Png = "png",
    }
}

impl PhotoFormat {
    /// The media type served for the original.
    pub fn media_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
        }
    }
}

stored_enum! {
    /// The lifecycle state of a form (as in ODK Central).
    pub enum FormState ("form state") {
        /// Listed to phones and accepting submissions.
        Open = "open",
        /// Not listed to phones, still accepting submissions from phones that have it.
        Closing = "closing",
        /// Accepting nothing.
        Closed = "closed",
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
    utoipa::ToSchema,
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
