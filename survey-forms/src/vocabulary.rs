//! The campaign's vocabulary that forms refer to: household categories (what a
//! survey can say about a household) and commitment kinds (what a commitment covers).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An unknown name for a vocabulary term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}'; expected one of: {expected}")]
pub struct UnknownTerm {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $kind:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every term, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in storage, files and the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownTerm;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|term| term.as_str() == s)
                    .ok_or_else(|| UnknownTerm {
                        kind: $kind,
                        value: s.to_string(),
                        expected: $name::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }
    };
}

vocabulary!(
    /// What an approved household survey can say about a household; the
    /// categories decide which commitments the household must sign.
    HouseholdCategory, "household category", {
        /// A relative lives or works abroad.
        RelativeAbroad => "relative_abroad",
        /// A relative lives or works abroad illegally.
        RelativeAbroadIllegal => "relative_abroad_illegal",
        /// A relative is arrested or detained abroad.
        RelativeDetained => "relative_detained",
        /// A member exited illegally and came back.
        Returnee => "returnee",
        /// Signs of brokers or recruiters around the household.
        BrokerSigns => "broker_signs",
        /// Runs accommodation (hotel, guest house).
        BusinessAccommodation => "business_accommodation",
        /// Employs foreigners.
        BusinessForeignEmployer => "business_foreign_employer",
        /// Labour-export or study-abroad consultancy.
        BusinessLabourExport => "business_labour_export",
        /// Owns passenger transport.
        BusinessTransport => "business_transport",
    }
);

vocabulary!(
    /// The commitments a campaign collects (DESIGN.md §1).
    CommitmentKind, "commitment kind", {
        /// The village head pledges to propagandise, denounce and report.
        VillagePledge => "village_pledge",
        /// Every household pledges to detect and report cases.
        HouseholdReporting => "household_reporting",
        /// A household with a relative illegally abroad pledges to persuade them to return.
        RelativeAbroad => "relative_abroad",
        /// A household with a relative arrested abroad pledges to report their return.
        RelativeDetained => "relative_detained",
        /// A returnee pledges not to exit illegally again.
        ReturneeNoReoffend => "returnee_no_reoffend",
        /// An establishment pledges to comply (accommodation, employers, consultancies, transport).
        BusinessCompliance => "business_compliance",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_round_trip_and_unknown_ones_list_the_choices() {
        for kind in CommitmentKind::ALL {
            assert_eq!(kind.as_str().parse::<CommitmentKind>(), Ok(*kind));
        }
        let error = "smuggling".parse::<HouseholdCategory>().unwrap_err();
        assert!(error
            .to_string()
            .contains("relative_abroad, relative_abroad_illegal"));
    }
}
