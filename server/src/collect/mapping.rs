//! A filled XForm instance as a submission document: the same record the JSON
//! API takes, so that both go through one intake. Pure.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use survey_forms::{FilledInstance, FormDefinition, Geopoint, InstanceForm};

use crate::error::FieldError;
use crate::evidence::Geotag;
use crate::submissions::upload::StagedPart;
use crate::submissions::SubmissionDocument;

/// What the phone said beyond the instance: its `deviceID`, and the submission
/// an edited instance replaces (from `meta/deprecatedID`).
pub struct Envelope {
    pub device_id: Option<String>,
    pub corrects: Option<i64>,
    /// When the server received it: the collection time if the instance has none.
    pub received_at: DateTime<FixedOffset>,
}

fn time(text: Option<&str>) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text?).ok()
}

/// The submission document of a filled instance, or every problem with it.
pub fn document(
    filled: &FilledInstance,
    form: &InstanceForm,
    envelope: Envelope,
) -> Result<SubmissionDocument, Vec<FieldError>> {
    let mut problems = Vec::new();
    let village_id = match filled.village.as_deref().map(str::parse::<i64>) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            problems.push(FieldError::new(
                "_village",
                "is not a village of the roster",
            ));
            None
        }
        None => {
            problems.push(FieldError::new("_village", "no village was picked"));
            None
        }
    };
    let household_id = match filled.household.as_deref().map(str::parse::<i64>) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            problems.push(FieldError::new(
                "_household",
                "is not a household of the roster",
            ));
            None
        }
        None => None,
    };
    let geotag = match filled.geotag.as_deref() {
        None => None,
        Some(text) => match Geopoint::parse(text) {
            Some(point) => Some(Geotag {
                lat: point.lat,
                lon: point.lon,
                accuracy_m: point.accuracy_m,
                altitude_m: point.altitude_m,
                captured_at: None,
            }),
            None => {
                problems.push(FieldError::new(
                    "_geotag",
                    "must be 'latitude longitude altitude accuracy'",
                ));
                None
            }
        },
    };
    let collected_at = time(filled.ended.as_deref())
        .or_else(|| time(filled.started.as_deref()))
        .unwrap_or(envelope.received_at);
    match (village_id, problems.is_empty()) {
        (Some(village_id), true) => Ok(SubmissionDocument {
            instance_id: filled.instance_id.clone(),
            form_id: form.form_id.clone(),
            form_version: form.version,
            village_id,
            household_id,
            collected_at,
            device_id: envelope.device_id,
            geotag,
            answers: filled.answers.clone(),
            corrects: envelope.corrects,
        }),
        _ => Err(problems),
    }
}

/// Collect names each file part after the file; intake wants the field the
/// answers name it in (`signed_paper_photo`, `members[1].photo`). Parts no
/// answer names keep their file name, and intake says so.
pub fn name_parts(definition: &FormDefinition, answers: &Value, parts: &mut [StagedPart]) {
    let named = survey_forms::attachment_names(definition, answers);
    for part in parts.iter_mut() {
        if let Some((path, _)) = named.iter().find(|(_, file)| *file == part.filename) {
            part.field = path.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filled() -> FilledInstance {
        FilledInstance {
            instance_id: "6f1c7a0e-2b7b-4a53-9a4e-0d6f5f0f3b11".into(),
            deprecated_id: None,
            village: Some("11".into()),
            household: Some("101".into()),
            geotag: Some("21.0285 105.8542 12.5 4.0".into()),
            started: Some("2026-11-27T09:00:00.000+07:00".into()),
            ended: Some("2026-11-27T09:20:00.000Z".into()),
            answers: json!({"signed_paper_photo": ["a.jpg"]}),
        }
    }

    fn envelope() -> Envelope {
        Envelope {
            device_id: Some("collect:abc".into()),
            corrects: None,
            received_at: DateTime::parse_from_rfc3339("2026-11-27T12:00:00+07:00").expect("time"),
        }
    }

    fn form() -> InstanceForm {
        InstanceForm {
            form_id: "commitment".into(),
            version: 1,
        }
    }

    #[test]
    fn the_instance_becomes_the_json_api_document() {
        let document = document(&filled(), &form(), envelope()).expect("document");
        assert_eq!(
            (document.village_id, document.household_id),
            (11, Some(101))
        );
        assert_eq!(
            document.collected_at.to_rfc3339(),
            "2026-11-27T09:20:00+00:00"
        );
        let geotag = document.geotag.expect("geotag");
        assert_eq!(
            (geotag.lat, geotag.accuracy_m, geotag.altitude_m),
            (21.0285, Some(4.0), Some(12.5))
        );
        assert_eq!(document.device_id.as_deref(), Some("collect:abc"));
        assert_eq!(
            (document.form_id.as_str(), document.form_version),
            ("commitment", 1)
        );
    }

    #[test]
    fn a_missing_village_or_a_broken_geotag_is_named() {
        let mut broken = filled();
        broken.village = None;
        broken.geotag = Some("north".into());
        broken.ended = None;
        broken.started = None;
        let problems = document(&broken, &form(), envelope()).expect_err("refused");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["_village", "_geotag"]);
        let mut untimed = filled();
        untimed.ended = None;
        untimed.started = None;
        let document = document(&untimed, &form(), envelope()).expect("document");
        assert_eq!(document.collected_at, envelope().received_at);
    }
}
