//! A filled XForm instance (what ODK Collect submits) read back into answers
//! of the same shape the JSON API takes, so that both go through one checker.
//! The instance's layout is the one [`crate::xform`] writes. Pure: no I/O.

use quick_xml::events::{BytesRef, Event};
use quick_xml::Reader;
use serde_json::{Map, Number, Value};

use crate::definition::{Field, FieldKind, FormDefinition};
use crate::xform::{photo_has_slots, photo_slot, END, GEOTAG, HOUSEHOLD, START, VILLAGE};

/// Why an instance cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstanceError {
    #[error("the submission is not well-formed XML: {0}")]
    NotXml(String),
    #[error("the root element has no form id ('id' attribute)")]
    NoFormId,
    #[error("the form version '{0}' is not a whole number")]
    BadVersion(String),
    #[error("meta/instanceID is missing")]
    NoInstanceId,
}

/// A geopoint answer: `lat lon altitude accuracy` as Collect writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geopoint {
    pub lat: f64,
    pub lon: f64,
    pub altitude_m: Option<f64>,
    pub accuracy_m: Option<f64>,
}

impl Geopoint {
    /// Reads `"lat lon [altitude [accuracy]]"`; `None` unless lat and lon are numbers.
    pub fn parse(text: &str) -> Option<Geopoint> {
        let mut parts = text.split_whitespace().map(str::parse::<f64>);
        let lat = parts.next()?.ok()?;
        let lon = parts.next()?.ok()?;
        let altitude_m = parts.next().and_then(Result::ok);
        let accuracy_m = parts.next().and_then(Result::ok);
        Some(Geopoint {
            lat,
            lon,
            altitude_m,
            accuracy_m,
        })
    }

    fn to_value(self) -> Value {
        let mut object = Map::new();
        object.insert("lat".into(), number(self.lat));
        object.insert("lon".into(), number(self.lon));
        if let Some(a) = self.altitude_m {
            object.insert("altitude_m".into(), number(a));
        }
        if let Some(a) = self.accuracy_m {
            object.insert("accuracy_m".into(), number(a));
        }
        Value::Object(object)
    }
}

fn number(value: f64) -> Value {
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// The form an instance was filled from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceForm {
    pub form_id: String,
    pub version: u32,
}

/// A filled instance, read against its form version.
#[derive(Debug, Clone, PartialEq)]
pub struct FilledInstance {
    /// `meta/instanceID` without its `uuid:` prefix.
    pub instance_id: String,
    /// `meta/deprecatedID` (the instance this one replaces), without `uuid:`.
    pub deprecated_id: Option<String>,
    /// The village picked from the roster, as written (a village id).
    pub village: Option<String>,
    /// The household picked from the roster, as written (a household id).
    pub household: Option<String>,
    /// The text of the position question, as written (see [`Geopoint::parse`]).
    pub geotag: Option<String>,
    /// When the form was opened and finalised, as written (ISO 8601).
    pub started: Option<String>,
    pub ended: Option<String>,
    /// The answers, shaped as the JSON API takes them.
    pub answers: Value,
}

/// An element of the instance: its local name, attributes and text.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed text of a child, when not empty.
    fn text_of(&self, name: &str) -> Option<String> {
        self.child(name)
            .map(|c| c.text.trim().to_string())
            .filter(|t| !t.is_empty())
    }
}

/// Deeper than any form: a guard against hostile nesting.
const MAX_DEPTH: usize = 64;

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => name.to_string(),
    }
}

fn entity(reference: &BytesRef<'_>) -> Result<String, InstanceError> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Ok(c.to_string());
    }
    let name = reference.clone().into_inner();
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_string)
        .ok_or_else(|| InstanceError::NotXml(format!("unknown entity &{name};")))
}

fn start_node(e: &quick_xml::events::BytesStart<'_>) -> Result<Node, InstanceError> {
    let mut node = Node {
        name: local(e.name().as_ref()),
        ..Node::default()
    };
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|e| InstanceError::NotXml(e.to_string()))?;
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| InstanceError::NotXml(e.to_string()))?
            .into_owned();
        node.attributes.push((local(attribute.key.as_ref()), value));
    }
    Ok(node)
}

/// Parses the whole document into its root element.
fn parse(xml: &[u8]) -> Result<Node, InstanceError> {
    let not_xml = |e: quick_xml::Error| InstanceError::NotXml(e.to_string());
    let mut reader = Reader::from_reader(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(not_xml)?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(InstanceError::NotXml("nested too deeply".into()));
                }
                stack.push(start_node(&e)?);
            }
            Event::Empty(e) => {
                let node = start_node(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if root.is_none() => root = Some(node),
                    None => return Err(InstanceError::NotXml("two root elements".into())),
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| InstanceError::NotXml("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if root.is_none() => root = Some(node),
                    None => return Err(InstanceError::NotXml("two root elements".into())),
                }
            }
            Event::Text(t) => {
                if let Some(node) = stack.last_mut() {
                    node.text
                        .push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
            }
            Event::CData(t) => {
                if let Some(node) = stack.last_mut() {
                    node.text
                        .push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&entity(&r)?);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(InstanceError::NotXml(
            "the document ends inside an element".into(),
        ));
    }
    root.ok_or_else(|| InstanceError::NotXml("no root element".into()))
}

fn form_of_root(root: &Node) -> Result<InstanceForm, InstanceError> {
    let form_id = root
        .attribute("id")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or(InstanceError::NoFormId)?
        .to_string();
    let version = root.attribute("version").unwrap_or("").trim();
    let version = version
        .parse::<u32>()
        .map_err(|_| InstanceError::BadVersion(version.to_string()))?;
    Ok(InstanceForm { form_id, version })
}

/// The form and version an instance names, read before its definition is looked up.
pub fn form_of(xml: &[u8]) -> Result<InstanceForm, InstanceError> {
    form_of_root(&parse(xml)?)
}

fn strip_uuid(id: String) -> String {
    id.strip_prefix("uuid:").map(str::to_string).unwrap_or(id)
}

/// An answer's text as the JSON API takes it: numbers as numbers, booleans
/// as booleans, choices as lists. Text that does not convert is kept as text,
/// so that the checker names the field and what is wrong.
fn convert(field: &Field, text: &str) -> Value {
    match &field.kind {
        FieldKind::Integer => text
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.into()), Value::from),
        FieldKind::Decimal => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(text.into()), Value::Number),
        FieldKind::Boolean => match text {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            other => Value::String(other.into()),
        },
        FieldKind::SelectMultiple { .. } => Value::Array(
            text.split_whitespace()
                .map(|v| Value::String(v.into()))
                .collect(),
        ),
        FieldKind::Geopoint => {
            Geopoint::parse(text).map_or_else(|| Value::String(text.into()), Geopoint::to_value)
        }
        FieldKind::Photo { .. } => Value::Array(vec![Value::String(text.into())]),
        _ => Value::String(text.into()),
    }
}

fn answers_of(fields: &[Field], node: &Node) -> Map<String, Value> {
    let mut answers = Map::new();
    for field in fields {
        let value = match &field.kind {
            FieldKind::Note => None,
            FieldKind::Repeat {
                fields: children, ..
            } => {
                let entries: Vec<Value> = node
                    .children_named(&field.name)
                    .map(|entry| Value::Object(answers_of(children, entry)))
                    .collect();
                (!entries.is_empty()).then_some(Value::Array(entries))
            }
            FieldKind::Photo { max_count, .. } if photo_has_slots(*max_count) => {
                let names: Vec<Value> = node.child(&field.name).map_or_else(Vec::new, |group| {
                    (1..=*max_count)
                        .filter_map(|n| group.text_of(&photo_slot(n)))
                        .map(Value::String)
                        .collect()
                });
                (!names.is_empty()).then_some(Value::Array(names))
            }
            _ => node.text_of(&field.name).map(|text| convert(field, &text)),
        };
        if let Some(value) = value {
            answers.insert(field.name.clone(), value);
        }
    }
    answers
}

/// Reads an instance filled from `definition`.
pub fn read_instance(
    definition: &FormDefinition,
    xml: &[u8],
) -> Result<FilledInstance, InstanceError> {
    let root = parse(xml)?;
    form_of_root(&root)?;
    let meta = root.child("meta");
    let instance_id = meta
        .and_then(|m| m.text_of("instanceID"))
        .map(strip_uuid)
        .ok_or(InstanceError::NoInstanceId)?;
    Ok(FilledInstance {
        instance_id,
        deprecated_id: meta.and_then(|m| m.text_of("deprecatedID")).map(strip_uuid),
        village: root.text_of(VILLAGE),
        household: root.text_of(HOUSEHOLD),
        geotag: root.text_of(GEOTAG),
        started: root.text_of(START),
        ended: root.text_of(END),
        answers: Value::Object(answers_of(&definition.fields, &root)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(id: &str) -> FormDefinition {
        crate::shipped_forms()
            .expect("shipped forms parse")
            .into_iter()
            .find(|f| f.id.0 == id)
            .expect("shipped form")
    }

    const SURVEY: &str = r#"<?xml version='1.0' ?><data id="household-survey" version="1" xmlns:jr="http://openrosa.org/javarosa">
<_start>2026-11-27T09:00:00.000+07:00</_start><_end>2026-11-27T09:20:00.000+07:00</_end>
<_village>11</_village><_household>101</_household><_owes>Hộ gia đình cam kết</_owes><_owes_note/>
<_geotag>21.0285 105.8542 12.5 4.0</_geotag>
<member_count>2</member_count>
<members><full_name>Nguyễn Văn An</full_name><birth_year>1970</birth_year><relation>head</relation><working_away>false</working_away></members>
<members><full_name>Lê Thị &amp; Bình</full_name><birth_year/><relation>spouse</relation><working_away>true</working_away></members>
<has_relative_abroad>false</has_relative_abroad><has_relative_detained>false</has_relative_detained><has_returnee>false</has_returnee>
<broker_signs>false</broker_signs><runs_business>accommodation labour_export</runs_business><house_photo>1700000000.jpg</house_photo><notes/>
<meta><instanceID>uuid:6f1c7a0e-2b7b-4a53-9a4e-0d6f5f0f3b11</instanceID><deprecatedID>uuid:0a1b2c3d-2b7b-4a53-9a4e-0d6f5f0f3b11</deprecatedID></meta></data>"#;

    #[test]
    fn a_filled_survey_reads_as_the_json_api_answers() {
        let survey = form("household-survey");
        assert_eq!(
            form_of(SURVEY.as_bytes()),
            Ok(InstanceForm {
                form_id: "household-survey".into(),
                version: 1
            })
        );
        let filled = read_instance(&survey, SURVEY.as_bytes()).expect("readable");
        assert_eq!(filled.instance_id, "6f1c7a0e-2b7b-4a53-9a4e-0d6f5f0f3b11");
        assert_eq!(
            filled.deprecated_id.as_deref(),
            Some("0a1b2c3d-2b7b-4a53-9a4e-0d6f5f0f3b11")
        );
        assert_eq!(filled.village.as_deref(), Some("11"));
        assert_eq!(filled.household.as_deref(), Some("101"));
        assert_eq!(
            filled.ended.as_deref(),
            Some("2026-11-27T09:20:00.000+07:00")
        );
        assert_eq!(
            filled.answers,
            json!({
                "member_count": 2,
                "members": [
                    {"full_name": "Nguyễn Văn An", "birth_year": 1970, "relation": "head", "working_away": false},
                    {"full_name": "Lê Thị & Bình", "relation": "spouse", "working_away": true},
                ],
                "has_relative_abroad": false,
                "has_relative_detained": false,
                "has_returnee": false,
                "broker_signs": false,
                "runs_business": ["accommodation", "labour_export"],
                "house_photo": ["1700000000.jpg"],
            })
        );
        assert!(crate::check_answers(&survey, &filled.answers).is_empty());
        let geotag = Geopoint::parse(filled.geotag.as_deref().unwrap_or("")).expect("geopoint");
        assert_eq!(
            (geotag.lat, geotag.lon, geotag.accuracy_m),
            (21.0285, 105.8542, Some(4.0))
        );
    }

    #[test]
    fn photo_slots_become_one_list_and_bad_numbers_stay_text_for_the_checker() {
        let commitment = form("commitment");
        let xml = r#"<data id="commitment" version="1"><_village>11</_village><commitment_kind>village_pledge</commitment_kind>
<signer_name>Trưởng thôn</signer_name><signer_relation>village_head</signer_relation>
<signed_paper_photo><photo_1>a.jpg</photo_1><photo_2/><photo_3>c.jpg</photo_3></signed_paper_photo>
<meta><instanceID>uuid:6f1c7a0e-2b7b-4a53-9a4e-0d6f5f0f3b12</instanceID></meta></data>"#;
        let filled = read_instance(&commitment, xml.as_bytes()).expect("readable");
        assert_eq!(
            filled.answers["signed_paper_photo"],
            json!(["a.jpg", "c.jpg"])
        );
        assert_eq!(filled.household, None);

        let survey = form("household-survey");
        let bad = SURVEY.replace("<member_count>2<", "<member_count>hai<");
        let filled = read_instance(&survey, bad.as_bytes()).expect("readable");
        let problems = crate::check_answers(&survey, &filled.answers);
        assert!(
            problems.iter().any(|p| p.path == "member_count"),
            "{problems:?}"
        );
    }

    #[test]
    fn broken_or_anonymous_instances_are_refused_with_the_reason() {
        let survey = form("household-survey");
        assert!(matches!(
            form_of(b"<data id='x'"),
            Err(InstanceError::NotXml(_))
        ));
        assert!(matches!(
            form_of(b"not xml at all"),
            Err(InstanceError::NotXml(_))
        ));
        assert_eq!(
            form_of(b"<data version='1'/>"),
            Err(InstanceError::NoFormId)
        );
        assert_eq!(
            form_of(b"<data id='commitment' version='v2'/>"),
            Err(InstanceError::BadVersion("v2".into()))
        );
        assert_eq!(
            read_instance(
                &survey,
                b"<data id='household-survey' version='1'><meta/></data>"
            ),
            Err(InstanceError::NoInstanceId)
        );
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(matches!(
            form_of(deep.as_bytes()),
            Err(InstanceError::NotXml(_))
        ));
    }
}
