//! Tests of the answer checker: each field type, constraint, relevance and
//! repeat-group path; property tests over the shipped forms.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::definition::parse_definition;
use crate::shipped_forms;

const FORM: &str = r#"
id: t
version: 1
title: {vi: T, en: T}
geotag: required
household: none
fields:
  - {name: name, type: text, label: {vi: N, en: N}, required: true, constraint: {min_length: 2, max_length: 5}}
  - {name: code, type: text, label: {vi: C, en: C}, constraint: {pattern: '[A-Z]{2}[0-9]+'}}
  - {name: count, type: integer, label: {vi: C, en: C}, constraint: {min: 1, max: 10}}
  - {name: ratio, type: decimal, label: {vi: R, en: R}, constraint: {min: 0.5}}
  - {name: day, type: date, label: {vi: D, en: D}, constraint: {min: "2025-04-21", max: "2025-05-18"}}
  - {name: at, type: datetime, label: {vi: A, en: A}}
  - {name: ok, type: boolean, label: {vi: O, en: O}}
  - {name: one, type: select_one, label: {vi: O, en: O}, choices: [{value: a, vi: A, en: A}, {value: b, vi: B, en: B}]}
  - {name: many, type: select_multiple, label: {vi: M, en: M}, choices: [{value: a, vi: A, en: A}, {value: b, vi: B, en: B}]}
  - {name: where, type: geopoint, label: {vi: W, en: W}}
  - {name: pics, type: photo, label: {vi: P, en: P}, min_count: 1, max_count: 2}
  - {name: sig, type: signature, label: {vi: S, en: S}}
  - {name: info, type: note, label: {vi: I, en: I}}
  - {name: abroad, type: boolean, label: {vi: A, en: A}, required: true}
  - name: relatives
    type: repeat
    label: {vi: R, en: R}
    required: true
    relevant: {field: abroad, equals: true}
    max_entries: 3
    fields:
      - {name: country, type: text, label: {vi: C, en: C}, required: true}
      - {name: legal, type: boolean, label: {vi: L, en: L}, required: true}
      - {name: why, type: text, label: {vi: W, en: W}, required: true, relevant: {field: legal, equals: false}}
"#;

fn form() -> FormDefinition {
    parse_definition("t.yaml", FORM).expect("test form is valid")
}

fn minimal() -> Value {
    json!({"name": "Lan", "abroad": false})
}

fn with(field: &str, value: Value) -> Value {
    let mut answers = minimal();
    answers[field] = value;
    answers
}

fn paths(problems: &[AnswerProblem]) -> Vec<&str> {
    problems.iter().map(|p| p.path.as_str()).collect()
}

#[test]
fn minimal_answers_pass() {
    assert_eq!(check_answers(&form(), &minimal()), vec![]);
}

#[test]
fn missing_required_fields_are_named() {
    let found = check_answers(&form(), &json!({}));
    assert_eq!(paths(&found), vec!["name", "abroad"]);
    assert!(found.iter().all(|p| p.message == "is required"));
    assert_eq!(
        paths(&check_answers(&form(), &with("name", json!("  ")))),
        vec!["name"]
    );
    assert_eq!(
        paths(&check_answers(&form(), &with("name", Value::Null))),
        vec!["name"]
    );
    assert_eq!(
        paths(&check_answers(&form(), &json!([1, 2]))),
        vec!["answers"]
    );
}

#[test]
fn each_type_refuses_the_wrong_kind_of_value() {
    let cases = [
        ("name", json!(5)),
        ("count", json!("three")),
        ("count", json!(2.5)),
        ("ratio", json!("x")),
        ("day", json!("21/04/2025")),
        ("at", json!("2025-04-21 08:00")),
        ("ok", json!("yes")),
        ("one", json!(1)),
        ("many", json!("a")),
        ("where", json!({"lat": 95, "lon": 105})),
        ("where", json!("19.8,105.7")),
        ("pics", json!("photo.jpg")),
        ("sig", json!(["s.png"])),
        ("relatives", json!({"country": "KR"})),
    ];
    for (field, value) in cases {
        let mut answers = with(field, value.clone());
        if field == "relatives" {
            answers["abroad"] = json!(true);
        }
        let found = check_answers(&form(), &answers);
        assert_eq!(paths(&found), vec![field], "{field} = {value}: {found:?}");
        assert!(found[0].message.starts_with("must be"), "{found:?}");
    }
}

#[test]
fn each_type_accepts_a_right_value() {
    let answers = json!({
        "name": "Lan", "code": "HK123", "count": 3, "ratio": 0.75, "day": "2025-04-25",
        "at": "2025-04-25T08:30:00+07:00", "ok": true, "one": "b", "many": ["a", "b"],
        "where": {"lat": 19.8, "lon": 105.7, "accuracy_m": 8}, "pics": ["p1.jpg", "p2.jpg"],
        "sig": "s.png", "abroad": true,
        "relatives": [{"country": "Hàn Quốc", "legal": true}, {"country": "Nhật Bản", "legal": false, "why": "quá hạn visa"}]
    });
    assert_eq!(check_answers(&form(), &answers), vec![]);
}

#[test]
fn constraints_are_enforced() {
    let expect = |field: &str, value: Value, text: &str| {
        let found = check_answers(&form(), &with(field, value.clone()));
        assert_eq!(paths(&found), vec![field], "{field} = {value}");
        assert!(
            found[0].message.contains(text),
            "{field} = {value}: {found:?}"
        );
    };
    expect("name", json!("L"), "at least 2 characters");
    expect("name", json!("Lannnn"), "at most 5 characters");
    expect("code", json!("hk123"), "must match the pattern");
    expect("count", json!(0), "at least 1");
    expect("count", json!(11), "at most 10");
    expect("ratio", json!(0.1), "at least 0.5");
    expect("day", json!("2025-04-20"), "on or after 2025-04-21");
    expect("day", json!("2025-05-19"), "on or before 2025-05-18");
    expect("one", json!("c"), "not one of the choices: a, b");
    expect("many", json!(["a", "z"]), "'z' is not one of the choices");
    expect("many", json!(["a", "a"]), "chosen twice");
    expect("pics", json!(["1", "2", "3"]), "needs 1 to 2 photos, got 3");
    expect("info", json!("x"), "takes no answer");
}

#[test]
fn an_empty_photo_list_for_an_optional_photo_is_no_answer() {
    // `pics` is optional: an empty list means "none taken", not a count problem.
    assert_eq!(check_answers(&form(), &with("pics", json!([]))), vec![]);
}

#[test]
fn relevance_requires_and_forbids() {
    let mut answers = minimal();
    answers["abroad"] = json!(true);
    assert_eq!(paths(&check_answers(&form(), &answers)), vec!["relatives"]);

    answers["abroad"] = json!(false);
    answers["relatives"] = json!([{"country": "KR", "legal": true}]);
    let found = check_answers(&form(), &answers);
    assert_eq!(paths(&found), vec!["relatives"]);
    assert!(found[0].message.contains("does not apply"));
}

#[test]
fn repeat_entries_are_checked_with_their_index() {
    let answers = json!({
        "name": "Lan", "abroad": true,
        "relatives": [
            {"country": "KR", "legal": true},
            {"country": "JP", "legal": true, "why": "not relevant"},
            {"legal": false},
            "not an object"
        ]
    });
    let found = check_answers(&form(), &answers);
    assert_eq!(
        paths(&found),
        vec![
            "relatives",
            "relatives[1].why",
            "relatives[2].country",
            "relatives[2].why",
            "relatives[3]"
        ],
        "{found:?}"
    );
    assert!(found[0].message.contains("at most 3 entries"));
}

#[test]
fn unknown_answers_are_reported() {
    let found = check_answers(&form(), &with("colour", json!("red")));
    assert_eq!(paths(&found), vec!["colour"]);
    let nested = json!({"name": "Lan", "abroad": true, "relatives": [{"country": "KR", "legal": true, "age": 3}]});
    assert_eq!(
        paths(&check_answers(&form(), &nested)),
        vec!["relatives[0].age"]
    );
}

#[test]
fn an_approved_survey_derives_categories() {
    let forms = shipped_forms().expect("forms");
    let survey = forms
        .iter()
        .find(|f| f.id.0 == "household-survey")
        .expect("survey");
    let answers = json!({
        "member_count": 4, "has_relative_abroad": true,
        "relatives_abroad": [
            {"full_name": "Lê Văn Bình", "relation": "con", "country": "Hàn Quốc", "purpose": "labour", "legal_status": "illegal"}
        ],
        "has_relative_detained": false, "has_returnee": true,
        "returnees": [{"full_name": "Lê Văn Cường", "return_date": "2025-03-02", "manner_of_return": "expelled"}],
        "broker_signs": false, "runs_business": ["passenger_transport"]
    });
    assert_eq!(check_answers(survey, &answers), vec![]);
    assert_eq!(
        derived_categories(survey, &answers),
        vec![
            HouseholdCategory::RelativeAbroad,
            HouseholdCategory::RelativeAbroadIllegal,
            HouseholdCategory::Returnee,
            HouseholdCategory::BusinessTransport
        ]
    );
    let plain = json!({"member_count": 2, "has_relative_abroad": false, "has_relative_detained": false, "has_returnee": false, "broker_signs": false});
    assert_eq!(check_answers(survey, &plain), vec![]);
    assert_eq!(derived_categories(survey, &plain), vec![]);
}

#[test]
fn commitments_say_which_kind_they_cover() {
    let forms = shipped_forms().expect("forms");
    let by_id = |id: &str| forms.iter().find(|f| f.id.0 == id).expect("form");
    let commitment = json!({"commitment_kind": "relative_abroad", "signer_name": "Lê Văn An", "signer_relation": "head", "signed_paper_photo": ["p.jpg"]});
    assert_eq!(check_answers(by_id("commitment"), &commitment), vec![]);
    assert_eq!(
        covered_commitment(by_id("commitment"), &commitment),
        Some(CommitmentKind::RelativeAbroad)
    );
    assert_eq!(
        attachment_names(by_id("commitment"), &commitment),
        vec![("signed_paper_photo".to_string(), "p.jpg".to_string())]
    );
    let declined = json!({"person_name": "Lê Văn Cường", "return_date": "2025-03-02", "manner_of_return": "expelled", "commitment_signed": false, "vocational_support_offered": false});
    assert_eq!(check_answers(by_id("returnee-contact"), &declined), vec![]);
    assert_eq!(
        covered_commitment(by_id("returnee-contact"), &declined),
        None
    );
    let mut signed = declined.clone();
    signed["commitment_signed"] = json!(true);
    assert_eq!(
        paths(&check_answers(by_id("returnee-contact"), &signed)),
        vec!["signed_paper_photo"]
    );
    signed["signed_paper_photo"] = json!(["c.jpg"]);
    assert_eq!(
        covered_commitment(by_id("returnee-contact"), &signed),
        Some(CommitmentKind::ReturneeNoReoffend)
    );
    assert_eq!(
        covered_commitment(by_id("village-meeting"), &json!({})),
        None
    );
}

/// Deterministic "random" valid answers for a definition, driven by a seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn coin(&mut self) -> bool {
        self.next().is_multiple_of(2)
    }
}

fn value_for(
    field: &Field,
    top: &Map<String, Value>,
    scope: &Map<String, Value>,
    g: &mut Gen,
) -> Option<Value> {
    if let Some(condition) = &field.relevant {
        if !holds(condition, scope, top) {
            return None;
        }
    }
    if !field.required && g.coin() {
        return None;
    }
    let c = field.constraint.clone().unwrap_or_default();
    let num = |v: &Option<Value>| v.as_ref().and_then(Value::as_f64);
    Some(match &field.kind {
        FieldKind::Text => {
            let min = c.min_length.unwrap_or(1).max(1);
            let max = c.max_length.unwrap_or(40).max(min);
            let len = min + g.below((max - min + 1).min(30) as u64) as usize;
            Value::String("ă".repeat(len))
        }
        FieldKind::Integer => {
            let lo = num(&c.min).unwrap_or(-1000.0) as i64;
            let hi = num(&c.max).unwrap_or(1000.0) as i64;
            json!(lo + g.below((hi - lo + 1) as u64) as i64)
        }
        FieldKind::Decimal => json!(num(&c.min).unwrap_or(0.0) + 0.25),
        FieldKind::Date => json!("2025-04-25"),
        FieldKind::Datetime => json!("2025-04-25T08:30:00+07:00"),
        FieldKind::Boolean => json!(g.coin()),
        FieldKind::SelectOne { choices } => {
            json!(choices[g.below(choices.len() as u64) as usize].value)
        }
        FieldKind::SelectMultiple { choices } => {
            let picked: Vec<&str> = choices
                .iter()
                .filter(|_| g.coin())
                .map(|c| c.value.as_str())
                .collect();
            if picked.is_empty() {
                json!([choices[0].value])
            } else {
                json!(picked)
            }
        }
        FieldKind::Geopoint => json!({"lat": 19.8, "lon": 105.7}),
        FieldKind::Photo {
            min_count,
            max_count,
        } => {
            let lo = (*min_count).max(1);
            let n = lo + g.below(u64::from(max_count - lo + 1)) as u32;
            json!((0..n).map(|i| format!("p{i}.jpg")).collect::<Vec<_>>())
        }
        FieldKind::Signature => json!("sig.png"),
        FieldKind::Repeat {
            fields,
            max_entries,
        } => {
            let n = 1 + g.below(u64::from(max_entries.unwrap_or(3).min(3))) as usize;
            let mut entries = Vec::new();
            for _ in 0..n {
                let mut entry = Map::new();
                for child in fields {
                    if let Some(v) = value_for(child, top, &entry.clone(), g) {
                        entry.insert(child.name.clone(), v);
                    }
                }
                entries.push(Value::Object(entry));
            }
            Value::Array(entries)
        }
        FieldKind::Note => return None,
    })
}

fn valid_answers(definition: &FormDefinition, seed: u64) -> Value {
    let mut g = Gen(seed | 1);
    let mut top = Map::new();
    for field in &definition.fields {
        let snapshot = top.clone();
        if let Some(v) = value_for(field, &snapshot, &snapshot, &mut g) {
            top.insert(field.name.clone(), v);
        }
    }
    Value::Object(top)
}

proptest! {
    #[test]
    fn random_valid_answers_pass(seed in any::<u64>(), form_index in 0usize..5) {
        let forms = shipped_forms().expect("forms");
        let definition = &forms[form_index % forms.len()];
        let answers = valid_answers(definition, seed);
        prop_assert_eq!(check_answers(definition, &answers), vec![], "answers: {}", answers);
    }

    #[test]
    fn breaking_one_required_field_names_that_field(seed in any::<u64>(), form_index in 0usize..5, pick in any::<usize>()) {
        let forms = shipped_forms().expect("forms");
        let definition = &forms[form_index % forms.len()];
        let mut answers = valid_answers(definition, seed);
        let top = answers.as_object().cloned().unwrap_or_default();
        let required: Vec<&Field> = definition
            .fields
            .iter()
            .filter(|f| f.required && top.contains_key(&f.name))
            .collect();
        prop_assume!(!required.is_empty());
        let victim = required[pick % required.len()];
        // Either drop it or give it a value of the wrong type.
        if pick.is_multiple_of(2) {
            answers.as_object_mut().map(|m| m.remove(&victim.name));
        } else {
            answers[victim.name.as_str()] = json!({"wrong": "type"});
        }
        let found = check_answers(definition, &answers);
        prop_assert!(
            found.iter().any(|p| p.path == victim.name),
            "breaking {} gave {:?}", victim.name, found
        );
    }
}
