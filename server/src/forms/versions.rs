//! The form-version rules, in one place: what publishing may do, and which
//! versions a submission may be made against. Pure: no database.

use survey_forms::FormVersion;

pub use camket_schema::domain::FormState;

/// What is known of one published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    pub version: FormVersion,
    pub hash: String,
    pub retired: bool,
}

/// What publishing a definition does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishDecision {
    /// A new version is stored.
    Create,
    /// The same version with the same content is already published: nothing to do.
    Unchanged,
    /// Refused, with the reason.
    Refuse(String),
}

/// Decides whether `version` with content `hash` may be published next to `existing`.
/// Published versions are immutable: changed content needs a higher version.
pub fn decide_publish(
    existing: &[PublishedVersion],
    version: FormVersion,
    hash: &str,
) -> PublishDecision {
    if let Some(same) = existing.iter().find(|v| v.version == version) {
        return if same.hash == hash {
            PublishDecision::Unchanged
        } else {
            let next = latest(existing).map(|v| v.0 + 1).unwrap_or(1);
            PublishDecision::Refuse(format!(
                "version {version} is already published with different content; published versions never change, so publish the changes as version {next} or higher"
            ))
        };
    }
    match latest(existing) {
        Some(highest) if version < highest => PublishDecision::Refuse(format!(
            "version {version} is lower than the latest published version {highest}; publish as version {} or higher",
            highest.0 + 1
        )),
        _ => PublishDecision::Create,
    }
}

/// The highest published version, retired or not.
pub fn latest(existing: &[PublishedVersion]) -> Option<FormVersion> {
    existing.iter().map(|v| v.version).max()
}

/// The version phones should use: the highest one not retired.
pub fn current(existing: &[PublishedVersion]) -> Option<FormVersion> {
    existing
        .iter()
        .filter(|v| !v.retired)
        .map(|v| v.version)
        .max()
}

/// Decides whether a submission against `wanted` is accepted; the refusal names
/// the current version so the phone knows what to download.
pub fn accepts(
    form_id: &str,
    state: FormState,
    existing: &[PublishedVersion],
    wanted: FormVersion,
) -> Result<(), String> {
    let current_hint = match current(existing) {
        Some(v) => format!("the current version is {v}"),
        None => "no version is accepted now".to_string(),
    };
    if state == FormState::Closed {
        return Err(format!(
            "the form '{form_id}' is closed and accepts no submissions"
        ));
    }
    match existing.iter().find(|v| v.version == wanted) {
        None => Err(format!("the form '{form_id}' has no version {wanted}; {current_hint}")),
        Some(v) if v.retired => Err(format!(
            "version {wanted} of '{form_id}' is retired; {current_hint}: download it and fill the form again"
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(list: &[(u32, &str, bool)]) -> Vec<PublishedVersion> {
        list.iter()
            .map(|(v, h, r)| PublishedVersion {
                version: FormVersion(*v),
                hash: h.to_string(),
                retired: *r,
            })
            .collect()
    }

    #[test]
    fn publishing_follows_the_version_rules() {
        let existing = published(&[(1, "aaa", false), (2, "bbb", false)]);
        assert_eq!(
            decide_publish(&[], FormVersion(1), "aaa"),
            PublishDecision::Create
        );
        assert_eq!(
            decide_publish(&existing, FormVersion(3), "ccc"),
            PublishDecision::Create
        );
        assert_eq!(
            decide_publish(&existing, FormVersion(2), "bbb"),
            PublishDecision::Unchanged
        );
        assert_eq!(
            decide_publish(&existing, FormVersion(1), "aaa"),
            PublishDecision::Unchanged
        );
        match decide_publish(&existing, FormVersion(2), "zzz") {
            PublishDecision::Refuse(why) => assert!(why.contains("version 3 or higher"), "{why}"),
            other => panic!("{other:?}"),
        }
        // A gap is fine; going back below the latest is not.
        assert_eq!(
            decide_publish(&existing, FormVersion(7), "ccc"),
            PublishDecision::Create
        );
        let with_gap = published(&[(1, "aaa", false), (5, "eee", false)]);
        match decide_publish(&with_gap, FormVersion(3), "ccc") {
            PublishDecision::Refuse(why) => assert!(
                why.contains("lower than the latest published version 5"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn acceptance_depends_on_state_and_retirement() {
        let existing = published(&[(1, "a", false), (2, "b", true), (3, "c", false)]);
        assert_eq!(current(&existing), Some(FormVersion(3)));
        assert!(accepts("f", FormState::Open, &existing, FormVersion(1)).is_ok());
        assert!(accepts("f", FormState::Closing, &existing, FormVersion(3)).is_ok());
        let retired = accepts("f", FormState::Open, &existing, FormVersion(2)).unwrap_err();
        assert!(
            retired.contains("retired") && retired.contains("current version is 3"),
            "{retired}"
        );
        let missing = accepts("f", FormState::Open, &existing, FormVersion(9)).unwrap_err();
        assert!(missing.contains("no version 9") && missing.contains("current version is 3"));
        assert!(accepts("f", FormState::Closed, &existing, FormVersion(3))
            .unwrap_err()
            .contains("closed"));
    }
}
