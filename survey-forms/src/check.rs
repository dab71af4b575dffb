//! The answer checker: given a form version and a submission's answers, every
//! problem, each with the path of its field (`relatives_abroad[2].country`).
//! Pure: no I/O.

use std::collections::HashSet;

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::definition::{Condition, Constraint, Field, FieldKind, FormDefinition};
use crate::vocabulary::{CommitmentKind, HouseholdCategory};

/// One problem with one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerProblem {
    /// Where: `signer_name`, `relatives_abroad[2].country`.
    pub path: String,
    /// What is wrong, for a person to read.
    pub message: String,
}

fn problem(path: &str, message: impl Into<String>) -> AnswerProblem {
    AnswerProblem {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Whether an answer counts as given.
fn is_answered(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

/// Evaluates a condition; `scope` is the answers of the current group, `top` the
/// form's top-level answers (used when the field is not in the group).
pub fn holds(condition: &Condition, scope: &Map<String, Value>, top: &Map<String, Value>) -> bool {
    let value = scope
        .get(&condition.field)
        .or_else(|| top.get(&condition.field));
    if let Some(expected) = condition.answered {
        return is_answered(value) == expected;
    }
    if let Some(inner) = &condition.any {
        return value.and_then(Value::as_array).is_some_and(|entries| {
            entries
                .iter()
                .filter_map(Value::as_object)
                .any(|entry| holds(inner, entry, top))
        });
    }
    let matches = |wanted: &Value| match value {
        Some(Value::Array(items)) => items.contains(wanted),
        Some(v) => v == wanted,
        None => false,
    };
    if let Some(expected) = &condition.equals {
        return matches(expected);
    }
    if let Some(options) = &condition.one_of {
        return options.iter().any(matches);
    }
    false
}

/// The longest text answer a form accepts when its field sets no `max_length`:
/// a name, an address or a note; a megabyte of text is an attack or a bug.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 2000;

fn text_problems(
    path: &str,
    text: &str,
    constraint: Option<&Constraint>,
    out: &mut Vec<AnswerProblem>,
) {
    let length = text.chars().count();
    let Some(c) = constraint else {
        if length > DEFAULT_MAX_TEXT_CHARS {
            out.push(problem(
                path,
                format!("must be at most {DEFAULT_MAX_TEXT_CHARS} characters"),
            ));
        }
        return;
    };
    if c.max_length.is_none() && length > DEFAULT_MAX_TEXT_CHARS {
        out.push(problem(
            path,
            format!("must be at most {DEFAULT_MAX_TEXT_CHARS} characters"),
        ));
    }
    if let Some(min) = c.min_length {
        if length < min {
            out.push(problem(path, format!("must be at least {min} characters")));
        }
    }
    if let Some(max) = c.max_length {
        if length > max {
            out.push(problem(path, format!("must be at most {max} characters")));
        }
    }
    if let Some(pattern) = &c.pattern {
        let matches = Regex::new(&format!("^(?:{pattern})$"))
            .map(|re| re.is_match(text))
            .unwrap_or(false);
        if !matches {
            let message = c
                .message
                .as_ref()
                .map(|m| m.en.clone())
                .unwrap_or_else(|| format!("must match the pattern {pattern}"));
            out.push(problem(path, message));
        }
    }
}

fn range_problems(
    path: &str,
    number: f64,
    constraint: Option<&Constraint>,
    out: &mut Vec<AnswerProblem>,
) {
    let Some(c) = constraint else { return };
    if let Some(min) = c.min.as_ref().and_then(Value::as_f64) {
        if number < min {
            out.push(problem(path, format!("must be at least {min}")));
        }
    }
    if let Some(max) = c.max.as_ref().and_then(Value::as_f64) {
        if number > max {
            out.push(problem(path, format!("must be at most {max}")));
        }
    }
}

fn date_problems(
    path: &str,
    date: chrono::NaiveDate,
    constraint: Option<&Constraint>,
    out: &mut Vec<AnswerProblem>,
) {
    let Some(c) = constraint else { return };
    let bound = |v: &Option<Value>| {
        v.as_ref()
            .and_then(Value::as_str)
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    if let Some(min) = bound(&c.min) {
        if date < min {
            out.push(problem(path, format!("must be on or after {min}")));
        }
    }
    if let Some(max) = bound(&c.max) {
        if date > max {
            out.push(problem(path, format!("must be on or before {max}")));
        }
    }
}

fn check_value(
    path: &str,
    field: &Field,
    value: &Value,
    top: &Map<String, Value>,
    out: &mut Vec<AnswerProblem>,
) {
    let constraint = field.constraint.as_ref();
    let wrong_type = |expected: &str| problem(path, format!("must be {expected}"));
    match &field.kind {
        FieldKind::Text => match value.as_str() {
            Some(text) => text_problems(path, text, constraint, out),
            None => out.push(wrong_type("text")),
        },
        FieldKind::Integer => match value.as_i64() {
            Some(n) => range_problems(path, n as f64, constraint, out),
            None => out.push(wrong_type("a whole number")),
        },
        FieldKind::Decimal => match value.as_f64() {
            Some(n) => range_problems(path, n, constraint, out),
            None => out.push(wrong_type("a number")),
        },
        FieldKind::Date => match value
            .as_str()
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            Some(date) => date_problems(path, date, constraint, out),
            None => out.push(wrong_type("a date as YYYY-MM-DD")),
        },
        FieldKind::Datetime => {
            if value
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .is_none()
            {
                out.push(wrong_type(
                    "a date and time as RFC 3339 (2025-04-21T08:30:00+07:00)",
                ));
            }
        }
        FieldKind::Boolean => {
            if !value.is_boolean() {
                out.push(wrong_type("true or false"));
            }
        }
        FieldKind::SelectOne { choices } => match value.as_str() {
            Some(v) if choices.iter().any(|c| c.value == v) => {}
            Some(v) => out.push(problem(
                path,
                format!("'{v}' is not one of the choices: {}", list(choices)),
            )),
            None => out.push(wrong_type("one of the choices")),
        },
        FieldKind::SelectMultiple { choices } => match value.as_array() {
            Some(items) => {
                let mut seen = HashSet::new();
                for item in items {
                    match item.as_str() {
                        Some(v) if !choices.iter().any(|c| c.value == v) => out.push(problem(
                            path,
                            format!("'{v}' is not one of the choices: {}", list(choices)),
                        )),
                        Some(v) if !seen.insert(v) => {
                            out.push(problem(path, format!("'{v}' is chosen twice")))
                        }
                        Some(_) => {}
                        None => out.push(wrong_type("a list of choices")),
                    }
                }
            }
            None => out.push(wrong_type("a list of choices")),
        },
        FieldKind::Geopoint => {
            let coordinate = |key: &str, range: std::ops::RangeInclusive<f64>| {
                value
                    .get(key)
                    .and_then(Value::as_f64)
                    .is_some_and(|v| range.contains(&v))
            };
            if !(value.is_object()
                && coordinate("lat", -90.0..=90.0)
                && coordinate("lon", -180.0..=180.0))
            {
                out.push(wrong_type(
                    "a location {\"lat\": -90..90, \"lon\": -180..180}",
                ));
            }
        }
        FieldKind::Photo {
            min_count,
            max_count,
        } => match value.as_array() {
            Some(items)
                if items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|s| !s.is_empty())) =>
            {
                let n = items.len() as u32;
                if n < *min_count || n > *max_count {
                    out.push(problem(
                        path,
                        format!("needs {min_count} to {max_count} photos, got {n}"),
                    ));
                }
            }
            _ => out.push(wrong_type("a list of the names of the photo parts")),
        },
        FieldKind::Signature => {
            if value.as_str().is_none_or(|s| s.is_empty()) {
                out.push(wrong_type("the name of the signature image part"));
            }
        }
        FieldKind::Repeat {
            fields,
            max_entries,
        } => match value.as_array() {
            Some(entries) => {
                if let Some(max) = max_entries {
                    if entries.len() > *max as usize {
                        out.push(problem(path, format!("at most {max} entries")));
                    }
                }
                for (i, entry) in entries.iter().enumerate() {
                    let entry_path = format!("{path}[{i}]");
                    match entry.as_object() {
                        Some(answers) => {
                            check_group(&format!("{entry_path}."), fields, answers, top, out)
                        }
                        None => out.push(problem(&entry_path, "must be an object of answers")),
                    }
                }
            }
            None => out.push(wrong_type("a list of entries")),
        },
        FieldKind::Note => out.push(problem(path, "is a note and takes no answer")),
    }
}

fn list(choices: &[crate::definition::Choice]) -> String {
    choices
        .iter()
        .map(|c| c.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_group(
    prefix: &str,
    fields: &[Field],
    answers: &Map<String, Value>,
    top: &Map<String, Value>,
    out: &mut Vec<AnswerProblem>,
) {
    for key in answers.keys() {
        if !fields.iter().any(|f| &f.name == key) {
            out.push(problem(
                &format!("{prefix}{key}"),
                "is not a field of this form",
            ));
        }
    }
    for field in fields {
        let path = format!("{prefix}{}", field.name);
        let value = answers.get(&field.name);
        let relevant = field
            .relevant
            .as_ref()
            .is_none_or(|c| holds(c, answers, top));
        let answered = is_answered(value);
        if !relevant {
            if answered {
                out.push(problem(
                    &path,
                    "is answered but does not apply (its relevance condition is false)",
                ));
            }
            continue;
        }
        match value {
            Some(v) if answered => check_value(&path, field, v, top, out),
            // An explicitly empty repeat or multi-select is a valid "none".
            Some(Value::Array(_)) if !field.required => {}
            _ if field.required => out.push(problem(&path, "is required")),
            _ => {}
        }
    }
}

/// Every problem with `answers` under `definition`; empty when they are acceptable.
pub fn check_answers(definition: &FormDefinition, answers: &Value) -> Vec<AnswerProblem> {
    let Some(top) = answers.as_object() else {
        return vec![problem(
            "answers",
            "must be an object of answers by field name",
        )];
    };
    let mut out = Vec::new();
    check_group("", &definition.fields, top, top, &mut out);
    out
}

/// The household categories an approved survey with these answers sets.
pub fn derived_categories(definition: &FormDefinition, answers: &Value) -> Vec<HouseholdCategory> {
    let empty = Map::new();
    let top = answers.as_object().unwrap_or(&empty);
    let mut found: Vec<HouseholdCategory> = definition
        .feeds
        .household_categories
        .iter()
        .filter(|rule| holds(&rule.when, top, top))
        .map(|rule| rule.category)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The commitment kind a submission with these answers covers, if the form covers one.
pub fn covered_commitment(definition: &FormDefinition, answers: &Value) -> Option<CommitmentKind> {
    if let Some(condition) = &definition.feeds.commitment_when {
        let empty = Map::new();
        let top = answers.as_object().unwrap_or(&empty);
        if !holds(condition, top, top) {
            return None;
        }
    }
    if let Some(kind) = definition.feeds.commitment_kind {
        return Some(kind);
    }
    let field = definition.feeds.commitment_kind_field.as_ref()?;
    answers.get(field)?.as_str()?.parse().ok()
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;

/// The names of the photo and signature parts the answers refer to, with their field paths.
pub fn attachment_names(definition: &FormDefinition, answers: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, fields: &[Field], answers: &Value, out: &mut Vec<(String, String)>) {
        for field in fields {
            let path = format!("{prefix}{}", field.name);
            let value = answers.get(&field.name);
            match (&field.kind, value) {
                (FieldKind::Photo { .. }, Some(Value::Array(items))) => out.extend(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|n| (path.clone(), n.to_string())),
                ),
                (FieldKind::Signature, Some(Value::String(name))) => out.push((path, name.clone())),
                (FieldKind::Repeat { fields, .. }, Some(Value::Array(entries))) => {
                    for (i, entry) in entries.iter().enumerate() {
                        walk(&format!("{path}[{i}]."), fields, entry, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk("", &definition.fields, answers, &mut out);
    out
}
