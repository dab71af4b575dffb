//! The camket form definition language.
//!
//! A form is a YAML file (see `forms/` for the campaign's forms): an id, an
//! increasing integer version, Vietnamese and English labels, typed fields with
//! `required`, constraints and relevance, and a declaration of what an approved
//! submission feeds (household categories, a commitment kind). This crate parses
//! and checks definitions ([`parse_definition`]), checks a submission's answers
//! against one ([`check_answers`]), and derives what approved answers mean
//! ([`derived_categories`], [`covered_commitment`]).

pub mod check;
pub mod definition;
pub mod instance;
pub mod vocabulary;
pub mod xform;

use std::path::Path;

pub use check::{
    attachment_names, check_answers, covered_commitment, derived_categories, AnswerProblem,
};
pub use definition::{
    parse_definition, Choice, Condition, DefinitionError, Field, FieldKind, FormDefinition, FormId,
    FormVersion, GeotagRule, HouseholdRule, Label,
};
pub use instance::{form_of, read_instance, FilledInstance, Geopoint, InstanceError, InstanceForm};
pub use xform::{media_files, to_xform, HOUSEHOLDS_CSV, VILLAGES_CSV};

/// The forms shipped with camket, as (file name, YAML text).
pub const SHIPPED_FORMS: &[(&str, &str)] = &[
    (
        "household-survey.yaml",
        include_str!("../forms/household-survey.yaml"),
    ),
    ("commitment.yaml", include_str!("../forms/commitment.yaml")),
    (
        "village-meeting.yaml",
        include_str!("../forms/village-meeting.yaml"),
    ),
    (
        "business-commitment.yaml",
        include_str!("../forms/business-commitment.yaml"),
    ),
    (
        "returnee-contact.yaml",
        include_str!("../forms/returnee-contact.yaml"),
    ),
];

/// The shipped forms, parsed.
pub fn shipped_forms() -> Result<Vec<FormDefinition>, Vec<DefinitionError>> {
    parse_all(
        SHIPPED_FORMS
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string())),
    )
}

fn parse_all(
    files: impl Iterator<Item = (String, String)>,
) -> Result<Vec<FormDefinition>, Vec<DefinitionError>> {
    let mut forms = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in files {
        match parse_definition(&name, &text) {
            Ok(form) => {
                if let Some(other) = forms
                    .iter()
                    .find(|f: &&FormDefinition| f.id == form.id && f.version == form.version)
                {
                    errors.push(DefinitionError {
                        file: name.clone(),
                        field: "id".into(),
                        problem: format!("{} version {} is defined twice", other.id, other.version),
                    });
                }
                forms.push(form);
            }
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    if errors.is_empty() {
        Ok(forms)
    } else {
        Err(errors)
    }
}

/// Reads and checks every `*.yaml` / `*.yml` file of a directory, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<FormDefinition>, Vec<DefinitionError>> {
    let unreadable = |problem: String| {
        vec![DefinitionError {
            file: dir.display().to_string(),
            field: "form".into(),
            problem,
        }]
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(format!("cannot read the directory: {e}")))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e == "yaml" || e == "yml")
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(unreadable("no .yaml form definitions found".into()));
    }
    let mut files = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| unreadable(format!("cannot read {}: {e}", path.display())))?;
        files.push((path.display().to_string(), text));
    }
    parse_all(files.into_iter())
}
