//! Form definitions: the YAML a form author writes, and the checked, typed form
//! the rest of camket uses. [`parse_definition`] reports every problem at once,
//! each naming the file, the field and what is wrong.

use std::collections::HashSet;
use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::vocabulary::{CommitmentKind, HouseholdCategory};

/// A form's identifier, e.g. `household-survey`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct FormId(pub String);

impl fmt::Display for FormId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A form's version: a positive integer that only grows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct FormVersion(pub u32);

impl fmt::Display for FormVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Text in Vietnamese with English beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub vi: String,
    pub en: String,
}

/// Whether a submission must carry the phone's geotag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeotagRule {
    Required,
    Optional,
}

/// Whether a submission is about one household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdRule {
    /// `household_id` must be given (a household survey).
    Required,
    /// Given for household commitments, absent for a village pledge.
    Optional,
    /// About the village as a whole (a residents' meeting).
    None,
}

/// A choice of a select field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub value: String,
    pub vi: String,
    pub en: String,
}

/// Limits on an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// Smallest number, or earliest date (`YYYY-MM-DD`) as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// A regular expression the whole text must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// What to tell the person when the constraint fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Label>,
}

/// A condition on answers, used for relevance and for what a form feeds.
/// `field` names a field of the same group, or else of the form's top level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    /// The answer equals this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// The answer is one of these values (for select_multiple: contains one of them).
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// The field is answered (`true`) or not (`false`); a repeat with no entries is unanswered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<bool>,
    /// For a repeat group: some entry satisfies this condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Box<Condition>>,
}

/// The type of a field, with what that type needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Integer,
    Decimal,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 with an offset.
    Datetime,
    Boolean,
    SelectOne {
        choices: Vec<Choice>,
    },
    SelectMultiple {
        choices: Vec<Choice>,
    },
    /// `{"lat", "lon", "accuracy_m"?}`.
    Geopoint,
    /// The answer lists the names of the photo parts sent with the submission.
    Photo {
        #[serde(default)]
        min_count: u32,
        #[serde(default = "one")]
        max_count: u32,
    },
    /// The answer names one image part.
    Signature,
    /// One entry per item (e.g. per relative abroad), each answering `fields`.
    Repeat {
        fields: Vec<Field>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_entries: Option<u32>,
    },
    /// Text shown to the surveyor; never answered.
    Note,
}

impl FieldKind {
    /// The type's name as written in a definition.
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Integer => "integer",
            FieldKind::Decimal => "decimal",
            FieldKind::Date => "date",
            FieldKind::Datetime => "datetime",
            FieldKind::Boolean => "boolean",
            FieldKind::SelectOne { .. } => "select_one",
            FieldKind::SelectMultiple { .. } => "select_multiple",
            FieldKind::Geopoint => "geopoint",
            FieldKind::Photo { .. } => "photo",
            FieldKind::Signature => "signature",
            FieldKind::Repeat { .. } => "repeat",
            FieldKind::Note => "note",
        }
    }

    /// The choices of a select field.
    pub fn choices(&self) -> Option<&[Choice]> {
        match self {
            FieldKind::SelectOne { choices } | FieldKind::SelectMultiple { choices } => {
                Some(choices)
            }
            _ => None,
        }
    }
}

fn one() -> u32 {
    1
}

/// One question (or note, or group) of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub label: Label,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<Constraint>,
    /// Asked only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<Condition>,
}

/// A household category an approved survey sets when its condition holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    pub category: HouseholdCategory,
    pub when: Condition,
}

/// What an approved submission of this form feeds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feeds {
    /// Household categories set by an approved survey.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub household_categories: Vec<CategoryRule>,
    /// The commitment kind this form always covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_kind: Option<CommitmentKind>,
    /// The select_one field whose answer is the commitment kind covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_kind_field: Option<String>,
    /// The commitment is covered only when this holds (e.g. `commitment_signed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_when: Option<Condition>,
    /// Counts as a village residents' meeting held with evidence.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub village_meeting: bool,
}

/// A checked form definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    pub id: FormId,
    pub version: FormVersion,
    pub title: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Label>,
    pub geotag: GeotagRule,
    pub household: HouseholdRule,
    #[serde(default)]
    pub feeds: Feeds,
    pub fields: Vec<Field>,
}

impl FormDefinition {
    /// The canonical JSON of the definition: what is stored and served.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// sha-256 of the canonical JSON: identical content has the same hash
    /// however the YAML was laid out.
    pub fn content_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
    }

    /// The top-level field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One problem with a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    /// The file (or `"<request>"` for a definition sent over HTTP).
    pub file: String,
    /// The field path (`relatives_abroad.country`), or `form` for the whole form.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.field, self.problem)
    }
}

const FIELD_TYPES: &str = "text, integer, decimal, date, datetime, boolean, select_one, select_multiple, geopoint, photo, signature, repeat, note";

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64
}

fn valid_form_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && id.len() <= 64
}

struct Checker<'a> {
    file: &'a str,
    errors: Vec<DefinitionError>,
}

impl Checker<'_> {
    fn error(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(DefinitionError {
            file: self.file.to_string(),
            field: field.into(),
            problem: problem.into(),
        });
    }

    fn check_fields(&mut self, prefix: &str, fields: &[Field], top: &[Field]) {
        let mut seen = HashSet::new();
        for field in fields {
            let path = format!("{prefix}{}", field.name);
            if !valid_name(&field.name) {
                self.error(&path, "a field name must start with a lowercase letter and use only a-z, 0-9 and _ (at most 64)");
            }
            if !seen.insert(field.name.as_str()) {
                self.error(&path, "duplicate field name");
            }
            if field.label.vi.trim().is_empty() || field.label.en.trim().is_empty() {
                self.error(&path, "the label needs both vi and en text");
            }
            match &field.kind {
                FieldKind::SelectOne { choices } | FieldKind::SelectMultiple { choices } => {
                    if choices.is_empty() {
                        self.error(&path, "a select field needs at least one choice");
                    }
                    let mut values = HashSet::new();
                    for choice in choices {
                        if !values.insert(choice.value.as_str()) {
                            self.error(&path, format!("duplicate choice '{}'", choice.value));
                        }
                        if choice.value.trim().is_empty() {
                            self.error(&path, "a choice needs a value");
                        }
                    }
                }
                FieldKind::Photo {
                    min_count,
                    max_count,
                } => {
                    if max_count < min_count || *max_count == 0 {
                        self.error(
                            &path,
                            "photo needs 0 <= min_count <= max_count and max_count >= 1",
                        );
                    }
                    if field.required && *min_count == 0 {
                        self.error(&path, "a required photo needs min_count >= 1");
                    }
                }
                FieldKind::Repeat {
                    fields: children, ..
                } => {
                    if children.is_empty() {
                        self.error(&path, "a repeat group needs at least one field");
                    }
                    self.check_fields(&format!("{path}."), children, top);
                }
                FieldKind::Note if field.required => self.error(&path, "a note cannot be required"),
                _ => {}
            }
            if let Some(constraint) = &field.constraint {
                self.check_constraint(&path, field, constraint);
            }
            if let Some(condition) = &field.relevant {
                if condition.field == field.name {
                    self.error(&path, "a field cannot be relevant on its own answer");
                }
                self.check_condition(&format!("{path}.relevant"), condition, fields, top);
            }
        }
    }

    fn check_constraint(&mut self, path: &str, field: &Field, constraint: &Constraint) {
        let numeric = matches!(field.kind, FieldKind::Integer | FieldKind::Decimal);
        let dated = matches!(field.kind, FieldKind::Date);
        let textual = matches!(field.kind, FieldKind::Text);
        for (name, bound) in [("min", &constraint.min), ("max", &constraint.max)] {
            match bound {
                None => {}
                Some(Value::Number(_)) if numeric => {}
                Some(Value::String(s))
                    if dated && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => {}
                Some(_) => self.error(
                    format!("{path}.constraint.{name}"),
                    format!(
                        "{name} applies to integer/decimal (a number) or date (YYYY-MM-DD) fields"
                    ),
                ),
            }
        }
        if (constraint.min_length.is_some()
            || constraint.max_length.is_some()
            || constraint.pattern.is_some())
            && !textual
        {
            self.error(
                format!("{path}.constraint"),
                "min_length, max_length and pattern apply to text fields only",
            );
        }
        if let Some(pattern) = &constraint.pattern {
            if let Err(e) = Regex::new(&format!("^(?:{pattern})$")) {
                self.error(
                    format!("{path}.constraint.pattern"),
                    format!("invalid regular expression: {e}"),
                );
            }
        }
    }

    fn check_condition(
        &mut self,
        path: &str,
        condition: &Condition,
        scope: &[Field],
        top: &[Field],
    ) {
        let target = scope
            .iter()
            .chain(top.iter())
            .find(|f| f.name == condition.field);
        let Some(target) = target else {
            self.error(
                path,
                format!(
                    "names '{}', which is not a field of this form",
                    condition.field
                ),
            );
            return;
        };
        let tests = [
            condition.equals.is_some(),
            condition.one_of.is_some(),
            condition.answered.is_some(),
            condition.any.is_some(),
        ]
        .iter()
        .filter(|t| **t)
        .count();
        if tests != 1 {
            self.error(
                path,
                "a condition needs exactly one of: equals, in, answered, any",
            );
        }
        if let Some(inner) = &condition.any {
            match &target.kind {
                FieldKind::Repeat { fields, .. } => {
                    self.check_condition(&format!("{path}.any"), inner, fields, top)
                }
                _ => self.error(
                    path,
                    format!(
                        "'any' needs a repeat group, and '{}' is a {}",
                        target.name,
                        target.kind.name()
                    ),
                ),
            }
        }
        let wanted: Vec<&Value> = condition
            .equals
            .iter()
            .chain(condition.one_of.iter().flatten())
            .collect();
        if let Some(choices) = target.kind.choices() {
            for value in wanted {
                let known = value
                    .as_str()
                    .is_some_and(|v| choices.iter().any(|c| c.value == v));
                if !known {
                    self.error(
                        path,
                        format!("{value} is not a choice of '{}'", target.name),
                    );
                }
            }
        }
    }

    fn check_feeds(&mut self, definition: &FormDefinition) {
        for (i, rule) in definition.feeds.household_categories.iter().enumerate() {
            self.check_condition(
                &format!("feeds.household_categories[{i}].when"),
                &rule.when,
                &definition.fields,
                &definition.fields,
            );
        }
        if let Some(condition) = &definition.feeds.commitment_when {
            self.check_condition(
                "feeds.commitment_when",
                condition,
                &definition.fields,
                &definition.fields,
            );
        }
        if definition.feeds.commitment_kind.is_some()
            && definition.feeds.commitment_kind_field.is_some()
        {
            self.error(
                "feeds",
                "give commitment_kind or commitment_kind_field, not both",
            );
        }
        if let Some(name) = &definition.feeds.commitment_kind_field {
            match definition.field(name) {
                Some(Field { kind: FieldKind::SelectOne { choices }, required: true, .. }) => {
                    for choice in choices {
                        if let Err(e) = choice.value.parse::<CommitmentKind>() {
                            self.error(name.to_string(), e.to_string());
                        }
                    }
                }
                _ => self.error("feeds.commitment_kind_field", format!("'{name}' must be a required select_one field whose choices are commitment kinds")),
            }
        }
    }
}

#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    fields: Vec<serde_yaml_ng::Value>,
}

/// Finds field entries whose `type` is unknown, so the author is told which
/// field is wrong rather than only a line number.
fn unknown_types(
    file: &str,
    prefix: &str,
    fields: &[serde_yaml_ng::Value],
    errors: &mut Vec<DefinitionError>,
) {
    const KNOWN: &[&str] = &[
        "text",
        "integer",
        "decimal",
        "date",
        "datetime",
        "boolean",
        "select_one",
        "select_multiple",
        "geopoint",
        "photo",
        "signature",
        "repeat",
        "note",
    ];
    const KEYS: &[&str] = &[
        "name",
        "label",
        "type",
        "required",
        "hint",
        "constraint",
        "relevant",
        "choices",
        "min_count",
        "max_count",
        "fields",
        "max_entries",
    ];
    for (i, field) in fields.iter().enumerate() {
        let name = field
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("fields[{i}]"));
        let path = format!("{prefix}{name}");
        if let Some(mapping) = field.as_mapping() {
            for key in mapping.keys().filter_map(|k| k.as_str()) {
                if !KEYS.contains(&key) {
                    errors.push(DefinitionError {
                        file: file.into(),
                        field: path.clone(),
                        problem: format!(
                            "unknown key '{key}'; a field may have: {}",
                            KEYS.join(", ")
                        ),
                    });
                }
            }
        }
        match field.get("type").and_then(|t| t.as_str()) {
            None => errors.push(DefinitionError {
                file: file.into(),
                field: path.clone(),
                problem: "missing 'type'".into(),
            }),
            Some(t) if !KNOWN.contains(&t) => errors.push(DefinitionError {
                file: file.into(),
                field: path.clone(),
                problem: format!("unknown type '{t}'; expected one of: {FIELD_TYPES}"),
            }),
            Some("repeat") => {
                if let Some(children) = field.get("fields").and_then(|f| f.as_sequence()) {
                    unknown_types(file, &format!("{path}."), children, errors);
                }
            }
            Some(_) => {}
        }
    }
}

/// Parses and checks a definition written in YAML (JSON is YAML too).
pub fn parse_definition(file: &str, text: &str) -> Result<FormDefinition, Vec<DefinitionError>> {
    let whole = |problem: String| {
        vec![DefinitionError {
            file: file.to_string(),
            field: "form".into(),
            problem,
        }]
    };
    let header: RawHeader =
        serde_yaml_ng::from_str(text).map_err(|e| whole(format!("not a form definition: {e}")))?;
    let mut errors = Vec::new();
    unknown_types(file, "", &header.fields, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let definition: FormDefinition = serde_yaml_ng::from_str(text)
        .map_err(|e| whole(format!("not a valid form definition: {e}")))?;
    let mut checker = Checker {
        file,
        errors: Vec::new(),
    };
    if !valid_form_id(&definition.id.0) {
        checker.error(
            "id",
            "a form id must start with a lowercase letter and use only a-z, 0-9, - and _",
        );
    }
    if definition.version.0 == 0 {
        checker.error("version", "versions start at 1");
    }
    if definition.fields.is_empty() {
        checker.error("fields", "a form needs at least one field");
    }
    checker.check_fields("", &definition.fields, &definition.fields);
    checker.check_feeds(&definition);
    if checker.errors.is_empty() {
        Ok(definition)
    } else {
        Err(checker.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<(String, String)> {
        parse_definition("test.yaml", yaml)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                assert_eq!(e.file, "test.yaml");
                (e.field, e.problem)
            })
            .collect()
    }

    const HEADER: &str =
        "id: t\nversion: 1\ntitle: {vi: T, en: T}\ngeotag: required\nhousehold: none\n";

    #[test]
    fn every_shipped_form_loads() {
        let forms = crate::shipped_forms().expect("shipped forms are valid");
        let ids: Vec<&str> = forms.iter().map(|f| f.id.0.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "household-survey",
                "commitment",
                "village-meeting",
                "business-commitment",
                "returnee-contact"
            ]
        );
    }

    #[test]
    fn an_unknown_type_names_the_field() {
        let found = problems(&format!(
            "{HEADER}fields:\n  - {{name: a, type: colour, label: {{vi: A, en: A}}}}\n"
        ));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "a");
        assert!(found[0].1.contains("unknown type 'colour'"), "{found:?}");
    }

    #[test]
    fn an_unknown_key_is_reported() {
        let found = problems(&format!("{HEADER}fields:\n  - {{name: a, type: text, requried: true, label: {{vi: A, en: A}}}}\n"));
        assert!(found[0].1.contains("unknown key 'requried'"), "{found:?}");
    }

    #[test]
    fn duplicates_missing_relevance_targets_and_empty_choices_are_all_reported() {
        let yaml = format!(
            "{HEADER}fields:
  - {{name: a, type: text, label: {{vi: A, en: A}}}}
  - {{name: a, type: integer, label: {{vi: A, en: A}}}}
  - {{name: b, type: select_one, label: {{vi: B, en: B}}, choices: []}}
  - {{name: c, type: text, label: {{vi: C, en: C}}, relevant: {{field: nope, equals: 1}}}}
  - name: r
    type: repeat
    label: {{vi: R, en: R}}
    fields:
      - {{name: x, type: text, label: {{vi: X, en: X}}}}
      - {{name: x, type: text, label: {{vi: X, en: X}}}}
"
        );
        let found = problems(&yaml);
        let has =
            |field: &str, text: &str| found.iter().any(|(f, p)| f == field && p.contains(text));
        assert!(has("a", "duplicate field name"), "{found:?}");
        assert!(has("b", "at least one choice"), "{found:?}");
        assert!(
            has("c.relevant", "'nope', which is not a field"),
            "{found:?}"
        );
        assert!(has("r.x", "duplicate field name"), "{found:?}");
    }

    #[test]
    fn conditions_must_name_real_choices_and_repeats() {
        let yaml = format!(
            "{HEADER}fields:
  - {{name: s, type: select_one, label: {{vi: S, en: S}}, choices: [{{value: yes, vi: Có, en: Yes}}]}}
  - {{name: t, type: text, label: {{vi: T, en: T}}, relevant: {{field: s, equals: maybe}}}}
  - {{name: u, type: text, label: {{vi: U, en: U}}, relevant: {{field: s, any: {{field: s, equals: yes}}}}}}
  - {{name: v, type: integer, label: {{vi: V, en: V}}, constraint: {{pattern: '[0-9]+'}}}}
  - {{name: w, type: text, label: {{vi: W, en: W}}, constraint: {{pattern: '([a-z'}}}}
  - {{name: p, type: photo, label: {{vi: P, en: P}}, required: true, min_count: 0, max_count: 2}}
"
        );
        let found = problems(&yaml);
        let has =
            |field: &str, text: &str| found.iter().any(|(f, p)| f == field && p.contains(text));
        assert!(
            has("t.relevant", "\"maybe\" is not a choice of 's'"),
            "{found:?}"
        );
        assert!(has("u.relevant", "'any' needs a repeat group"), "{found:?}");
        assert!(
            has("v.constraint", "apply to text fields only"),
            "{found:?}"
        );
        assert!(
            has("w.constraint.pattern", "invalid regular expression"),
            "{found:?}"
        );
        assert!(has("p", "min_count >= 1"), "{found:?}");
    }

    #[test]
    fn the_hash_ignores_layout_but_not_content() {
        let a = parse_definition(
            "a",
            &format!("{HEADER}fields:\n  - {{name: a, type: text, label: {{vi: A, en: A}}}}\n"),
        )
        .expect("a");
        let b = parse_definition(
            "b",
            &format!("{HEADER}\n\nfields:\n  - name: a\n    label:\n      en: A\n      vi: A\n    type: text\n"),
        )
        .expect("b");
        let c = parse_definition(
            "c",
            &format!("{HEADER}fields:\n  - {{name: a, type: text, label: {{vi: Á, en: A}}}}\n"),
        )
        .expect("c");
        assert_eq!(a.content_hash(), b.content_hash());
        assert_ne!(a.content_hash(), c.content_hash());
    }
}
