//! A form definition as an XForm (ODK XForms 1.0, the language ODK Collect
//! fills offline). Pure and deterministic: the same definition always gives the
//! same bytes, so the `md5:` hash phones compare changes only with the form.
//!
//! Besides the form's own fields, every XForm asks where the visit happened and
//! records when, in elements whose names start with `_` (a form's own field
//! names never do): the village and household picked from the roster files
//! [`VILLAGES_CSV`] and [`HOUSEHOLDS_CSV`], the commitments the household still
//! owes (shown as a note), the phone's position, and the start and end times.
//! [`crate::instance`] reads a filled instance back into a submission.

use std::fmt::Write as _;

use crate::definition::{Condition, Field, FieldKind, FormDefinition, GeotagRule, HouseholdRule};

/// The roster file listing the user's villages (`name`, `label`, `code`).
pub const VILLAGES_CSV: &str = "villages.csv";
/// The roster file listing the households of the user's villages (`name`,
/// `label`, `village`, `code`, `head`, `address`, `categories`, `owes`).
pub const HOUSEHOLDS_CSV: &str = "households.csv";

/// The instance's root element.
pub(crate) const ROOT: &str = "data";
/// The element holding the village picked (its id).
pub(crate) const VILLAGE: &str = "_village";
/// The element holding the household picked (its id).
pub(crate) const HOUSEHOLD: &str = "_household";
/// The element holding the phone's position.
pub(crate) const GEOTAG: &str = "_geotag";
/// When the surveyor opened the form.
pub(crate) const START: &str = "_start";
/// When the surveyor finalised the form.
pub(crate) const END: &str = "_end";
const OWES: &str = "_owes";
const OWES_NOTE: &str = "_owes_note";

/// The element name of the `n`th (1-based) photo of a photo field that takes more than one.
pub(crate) fn photo_slot(n: u32) -> String {
    format!("photo_{n}")
}

/// Whether a photo field is written as a group of slots rather than one question.
pub(crate) fn photo_has_slots(max_count: u32) -> bool {
    max_count > 1
}

/// Escapes text for an XML element or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// A string literal in XPath 1.0, which has no escapes: a value holding both
/// quote kinds is built with `concat()`.
fn literal(value: &str) -> String {
    if !value.contains('\'') {
        format!("'{value}'")
    } else if !value.contains('"') {
        format!("\"{value}\"")
    } else {
        let parts: Vec<String> = value.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// An XPath literal for a condition's value, as the answer is stored in the instance.
fn value_literal(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Bool(b) => literal(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => literal(s),
        other => literal(&other.to_string()),
    }
}

/// Where a condition's field names are looked up: the fields of the current
/// group (with the path they have from the condition's context), then the
/// form's top level.
struct Names<'a> {
    group: Option<(&'a [Field], String)>,
    top: &'a [Field],
}

impl<'a> Names<'a> {
    fn resolve(&self, name: &str) -> Option<(String, &'a Field)> {
        if let Some((fields, base)) = &self.group {
            if let Some(field) = fields.iter().find(|f| f.name == name) {
                return Some((format!("{base}{name}"), field));
            }
        }
        self.top
            .iter()
            .find(|f| f.name == name)
            .map(|f| (format!("/{ROOT}/{name}"), f))
    }
}

/// The node whose emptiness says whether a field is answered.
fn answered_node(path: &str, field: &Field) -> String {
    match field.kind {
        FieldKind::Photo { max_count, .. } if photo_has_slots(max_count) => {
            format!("{path}/{}", photo_slot(1))
        }
        _ => path.to_string(),
    }
}

/// A condition as an XPath boolean expression.
fn condition_xpath(condition: &Condition, names: &Names) -> String {
    let Some((path, field)) = names.resolve(&condition.field) else {
        // The definition checker refuses unknown names; never true is the safe reading.
        return "false()".into();
    };
    let repeat = matches!(field.kind, FieldKind::Repeat { .. });
    if let Some(answered) = condition.answered {
        let test = if repeat {
            format!("count({path}) > 0")
        } else {
            format!("string-length({}) > 0", answered_node(&path, field))
        };
        return if answered {
            test
        } else {
            format!("not({test})")
        };
    }
    if let Some(inner) = &condition.any {
        if let FieldKind::Repeat { fields, .. } = &field.kind {
            let entry = Names {
                group: Some((fields.as_slice(), String::new())),
                top: names.top,
            };
            return format!("count({path}[{}]) > 0", condition_xpath(inner, &entry));
        }
        return "false()".into();
    }
    let multiple = matches!(field.kind, FieldKind::SelectMultiple { .. });
    let test = |value: &serde_json::Value| {
        if multiple {
            format!("selected({path}, {})", value_literal(value))
        } else {
            format!("{path} = {}", value_literal(value))
        }
    };
    let mut tests: Vec<String> = Vec::new();
    if let Some(expected) = &condition.equals {
        tests.push(test(expected));
    }
    if let Some(values) = &condition.one_of {
        tests.extend(values.iter().map(test));
    }
    match tests.len() {
        0 => "true()".into(),
        1 => tests.remove(0),
        _ => format!("({})", tests.join(" or ")),
    }
}

/// A field's constraint as an XPath expression on `.`, if it has one.
fn constraint_xpath(field: &Field) -> Option<String> {
    let constraint = field.constraint.as_ref()?;
    let mut parts = Vec::new();
    let bound = |value: &serde_json::Value| match (&field.kind, value) {
        (FieldKind::Date, serde_json::Value::String(s)) => Some(format!("date({})", literal(s))),
        (_, serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Some(min) = constraint.min.as_ref().and_then(bound) {
        parts.push(format!(". >= {min}"));
    }
    if let Some(max) = constraint.max.as_ref().and_then(bound) {
        parts.push(format!(". <= {max}"));
    }
    if let Some(min) = constraint.min_length {
        parts.push(format!("string-length(.) >= {min}"));
    }
    if let Some(max) = constraint.max_length {
        parts.push(format!("string-length(.) <= {max}"));
    }
    if let Some(pattern) = &constraint.pattern {
        parts.push(format!(
            "regex(., {})",
            literal(&format!("^(?:{pattern})$"))
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// What the surveyor is told when a constraint fails: the form's own message,
/// else one built from the limits.
fn constraint_message(field: &Field) -> Option<String> {
    let constraint = field.constraint.as_ref()?;
    if let Some(message) = &constraint.message {
        return Some(message.vi.clone());
    }
    let mut parts = Vec::new();
    let shown = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(min) = &constraint.min {
        parts.push(format!("nhỏ nhất {}", shown(min)));
    }
    if let Some(max) = &constraint.max {
        parts.push(format!("lớn nhất {}", shown(max)));
    }
    if let Some(min) = constraint.min_length {
        parts.push(format!("ít nhất {min} ký tự"));
    }
    if let Some(max) = constraint.max_length {
        parts.push(format!("nhiều nhất {max} ký tự"));
    }
    if constraint.pattern.is_some() {
        parts.push("đúng mẫu quy định".into());
    }
    (!parts.is_empty()).then(|| format!("Giá trị phải {}", parts.join(", ")))
}

/// One `<bind>`.
#[derive(Default)]
struct Bind {
    nodeset: String,
    kind: Option<&'static str>,
    required: bool,
    readonly: bool,
    relevant: Option<String>,
    constraint: Option<String>,
    constraint_message: Option<String>,
    required_message: Option<String>,
    calculate: Option<String>,
    preload: Option<(&'static str, Option<&'static str>)>,
}

impl Bind {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "      <bind nodeset=\"{}\"", escape(&self.nodeset));
        if let Some(kind) = self.kind {
            let _ = write!(out, " type=\"{kind}\"");
        }
        if self.required {
            out.push_str(" required=\"true()\"");
        }
        if self.readonly {
            out.push_str(" readonly=\"true()\"");
        }
        for (name, value) in [
            ("relevant", &self.relevant),
            ("constraint", &self.constraint),
            ("jr:constraintMsg", &self.constraint_message),
            ("jr:requiredMsg", &self.required_message),
            ("calculate", &self.calculate),
        ] {
            if let Some(value) = value {
                let _ = write!(out, " {name}=\"{}\"", escape(value));
            }
        }
        if let Some((preload, params)) = self.preload {
            let _ = write!(out, " jr:preload=\"{preload}\"");
            if let Some(params) = params {
                let _ = write!(out, " jr:preloadParams=\"{params}\"");
            }
        }
        out.push_str("/>\n");
    }
}

/// The XForm being written: the instance skeleton, the binds and the body.
struct Writer<'a> {
    top: &'a [Field],
    instance: String,
    binds: Vec<Bind>,
    body: String,
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth)
}

fn label(text: &str) -> String {
    format!("<label>{}</label>", escape(text))
}

fn items(out: &mut String, depth: usize, choices: &[(String, String)]) {
    for (value, text) in choices {
        let _ = writeln!(
            out,
            "{}<item>{}<value>{}</value></item>",
            indent(depth),
            label(text),
            escape(value)
        );
    }
}

const REQUIRED_MESSAGE: &str = "Câu hỏi này bắt buộc trả lời";

impl Writer<'_> {
    /// Writes `fields` under `base` (`/data/` or a repeat's path with a slash);
    /// `group` is the enclosing repeat's fields, for condition look-ups.
    fn fields(&mut self, fields: &[Field], base: &str, depth: usize, in_repeat: bool) {
        for field in fields {
            self.field(field, fields, base, depth, in_repeat);
        }
    }

    fn field(
        &mut self,
        field: &Field,
        siblings: &[Field],
        base: &str,
        depth: usize,
        in_repeat: bool,
    ) {
        let path = format!("{base}{}", field.name);
        let names = Names {
            group: in_repeat.then(|| (siblings, base.to_string())),
            top: self.top,
        };
        let relevant = field.relevant.as_ref().map(|c| condition_xpath(c, &names));
        let pad = indent(depth);
        let mut bind = Bind {
            nodeset: path.clone(),
            required: field.required,
            relevant: relevant.clone(),
            constraint: constraint_xpath(field),
            constraint_message: constraint_message(field),
            required_message: field.required.then(|| REQUIRED_MESSAGE.to_string()),
            ..Bind::default()
        };
        let hint = field
            .hint
            .as_ref()
            .map(|h| format!("<hint>{}</hint>", escape(&h.vi)))
            .unwrap_or_default();
        let head = format!("{}{hint}", label(&field.label.vi));
        let ref_attr = format!("ref=\"{}\"", escape(&path));
        let inst_pad = indent(depth + 4);
        match &field.kind {
            FieldKind::Repeat {
                fields: children,
                max_entries,
            } => {
                let _ = writeln!(self.instance, "{inst_pad}<{} jr:template=\"\">", field.name);
                let _ = writeln!(self.body, "{pad}<group {ref_attr}>");
                let _ = writeln!(self.body, "{pad}  {head}");
                let _ = writeln!(self.body, "{pad}  <repeat nodeset=\"{}\">", escape(&path));
                let mut inner = Writer {
                    top: self.top,
                    instance: String::new(),
                    binds: Vec::new(),
                    body: String::new(),
                };
                inner.fields(children, &format!("{path}/"), depth + 2, true);
                self.instance.push_str(&inner.instance);
                self.body.push_str(&inner.body);
                let _ = writeln!(self.body, "{pad}  </repeat>");
                let _ = writeln!(self.body, "{pad}</group>");
                let _ = writeln!(self.instance, "{inst_pad}</{}>", field.name);
                self.binds.push(Bind {
                    nodeset: path.clone(),
                    relevant: relevant.clone(),
                    ..Bind::default()
                });
                self.binds.extend(inner.binds);
                // A repeat's entry count cannot be required in XForms itself: a
                // question that appears only when the count is wrong, and can
                // never be satisfied, keeps the form from being finalised.
                let when = |test: String| match &relevant {
                    Some(r) => format!("({r}) and {test}"),
                    None => test,
                };
                if field.required {
                    self.guard(
                        &format!("{base}_min_{}", field.name),
                        depth,
                        when(format!("count({path}) = 0")),
                        format!("Cần nhập ít nhất một mục «{}»", field.label.vi),
                    );
                }
                if let Some(max) = max_entries {
                    self.guard(
                        &format!("{base}_max_{}", field.name),
                        depth,
                        when(format!("count({path}) > {max}")),
                        format!("«{}» có nhiều nhất {max} mục", field.label.vi),
                    );
                }
                return;
            }
            FieldKind::Photo {
                min_count,
                max_count,
            } if photo_has_slots(*max_count) => {
                let _ = writeln!(self.instance, "{inst_pad}<{}>", field.name);
                let _ = writeln!(self.body, "{pad}<group {ref_attr}>");
                let _ = writeln!(self.body, "{pad}  {head}");
                // Slots are required only when the field is: an optional photo
                // field's min_count applies once it is answered, which the server checks.
                let min_count = if field.required { *min_count } else { 0 };
                for n in 1..=*max_count {
                    let slot = format!("{path}/{}", photo_slot(n));
                    let _ = writeln!(self.instance, "{inst_pad}  <{}/>", photo_slot(n));
                    let optional = if n > min_count {
                        " (không bắt buộc)"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        self.body,
                        "{pad}  <upload ref=\"{}\" mediatype=\"image/*\">{}</upload>",
                        escape(&slot),
                        label(&format!("Ảnh {n}{optional}"))
                    );
                    self.binds.push(Bind {
                        nodeset: slot,
                        kind: Some("binary"),
                        required: n <= min_count,
                        required_message: (n <= min_count).then(|| REQUIRED_MESSAGE.into()),
                        ..Bind::default()
                    });
                }
                let _ = writeln!(self.body, "{pad}</group>");
                let _ = writeln!(self.instance, "{inst_pad}</{}>", field.name);
                self.binds.push(Bind {
                    nodeset: path,
                    relevant,
                    ..Bind::default()
                });
                return;
            }
            _ => {}
        }
        let _ = writeln!(self.instance, "{inst_pad}<{}/>", field.name);
        let (kind, control) = match &field.kind {
            FieldKind::Text => ("string", format!("<input {ref_attr}>{head}</input>")),
            FieldKind::Integer => ("int", format!("<input {ref_attr}>{head}</input>")),
            FieldKind::Decimal => ("decimal", format!("<input {ref_attr}>{head}</input>")),
            FieldKind::Date => ("date", format!("<input {ref_attr}>{head}</input>")),
            FieldKind::Datetime => ("dateTime", format!("<input {ref_attr}>{head}</input>")),
            FieldKind::Geopoint => ("geopoint", format!("<input {ref_attr}>{head}</input>")),
            FieldKind::Note => {
                bind.readonly = true;
                ("string", format!("<input {ref_attr}>{head}</input>"))
            }
            FieldKind::Photo { .. } => (
                "binary",
                format!("<upload {ref_attr} mediatype=\"image/*\">{head}</upload>"),
            ),
            FieldKind::Signature => (
                "binary",
                format!(
                    "<upload {ref_attr} mediatype=\"image/*\" appearance=\"signature\">{head}</upload>"
                ),
            ),
            FieldKind::Boolean | FieldKind::SelectOne { .. } | FieldKind::SelectMultiple { .. } => {
                let choices: Vec<(String, String)> = match &field.kind {
                    FieldKind::Boolean => vec![
                        ("true".into(), "Có".into()),
                        ("false".into(), "Không".into()),
                    ],
                    other => other
                        .choices()
                        .unwrap_or_default()
                        .iter()
                        .map(|c| (c.value.clone(), c.vi.clone()))
                        .collect(),
                };
                let element = if matches!(field.kind, FieldKind::SelectMultiple { .. }) {
                    "select"
                } else {
                    "select1"
                };
                let mut control = format!("<{element} {ref_attr}>\n{pad}  {head}\n");
                items(&mut control, depth + 1, &choices);
                let _ = write!(control, "{pad}</{element}>");
                ("string", control)
            }
            // Written, with its children, before this match.
            FieldKind::Repeat { .. } => return,
        };
        bind.kind = Some(kind);
        let _ = writeln!(self.body, "{pad}{control}");
        self.binds.push(bind);
    }

    /// A question that appears only when `when` holds and cannot be answered,
    /// so that the form cannot be finalised while it shows.
    fn guard(&mut self, path: &str, depth: usize, when: String, message: String) {
        let name = path.rsplit('/').next().unwrap_or(path);
        let _ = writeln!(self.instance, "{}<{name}/>", indent(depth + 4));
        let _ = writeln!(
            self.body,
            "{}<trigger ref=\"{}\">{}</trigger>",
            indent(depth),
            escape(path),
            label(&message)
        );
        self.binds.push(Bind {
            nodeset: path.to_string(),
            required: true,
            relevant: Some(when),
            constraint: Some("false()".into()),
            constraint_message: Some(message.clone()),
            required_message: Some(message),
            ..Bind::default()
        });
    }
}

/// The XForm of a form version.
pub fn to_xform(definition: &FormDefinition) -> String {
    let mut writer = Writer {
        top: &definition.fields,
        instance: String::new(),
        binds: Vec::new(),
        body: String::new(),
    };
    let root = format!("/{ROOT}/");
    let about_household = definition.household != HouseholdRule::None;

    // Where and when: the visit's place from the roster, then the position.
    for name in [START, END, VILLAGE] {
        let _ = writeln!(writer.instance, "          <{name}/>");
    }
    writer.binds.push(Bind {
        nodeset: format!("{root}{START}"),
        kind: Some("dateTime"),
        preload: Some(("timestamp", Some("start"))),
        ..Bind::default()
    });
    writer.binds.push(Bind {
        nodeset: format!("{root}{END}"),
        kind: Some("dateTime"),
        preload: Some(("timestamp", Some("end"))),
        ..Bind::default()
    });
    writer.binds.push(Bind {
        nodeset: format!("{root}{VILLAGE}"),
        kind: Some("string"),
        required: true,
        required_message: Some("Chọn thôn".into()),
        ..Bind::default()
    });
    let _ = writeln!(
        writer.body,
        "    <select1 ref=\"{root}{VILLAGE}\">\n      {}\n      <itemset nodeset=\"instance('villages')/root/item\"><value ref=\"name\"/><label ref=\"label\"/></itemset>\n    </select1>",
        label("Thôn")
    );
    if about_household {
        for name in [HOUSEHOLD, OWES, OWES_NOTE] {
            let _ = writeln!(writer.instance, "          <{name}/>");
        }
        let required = definition.household == HouseholdRule::Required;
        let question = if required {
            "Hộ gia đình"
        } else {
            "Hộ gia đình (bỏ trống nếu cam kết của cả thôn)"
        };
        writer.binds.push(Bind {
            nodeset: format!("{root}{HOUSEHOLD}"),
            kind: Some("string"),
            required,
            required_message: required.then(|| "Chọn hộ gia đình".into()),
            ..Bind::default()
        });
        writer.binds.push(Bind {
            nodeset: format!("{root}{OWES}"),
            kind: Some("string"),
            calculate: Some(format!(
                "instance('households')/root/item[name = {root}{HOUSEHOLD}]/owes"
            )),
            ..Bind::default()
        });
        writer.binds.push(Bind {
            nodeset: format!("{root}{OWES_NOTE}"),
            kind: Some("string"),
            readonly: true,
            relevant: Some(format!("string-length({root}{OWES}) > 0")),
            ..Bind::default()
        });
        let _ = writeln!(
            writer.body,
            "    <select1 ref=\"{root}{HOUSEHOLD}\" appearance=\"autocomplete\">\n      {}\n      <itemset nodeset=\"instance('households')/root/item[village = {root}{VILLAGE}]\"><value ref=\"name\"/><label ref=\"label\"/></itemset>\n    </select1>",
            label(question)
        );
        let _ = writeln!(
            writer.body,
            "    <input ref=\"{root}{OWES_NOTE}\"><label>Hộ này còn thiếu: <output value=\"{root}{OWES}\"/></label></input>"
        );
    }
    let _ = writeln!(writer.instance, "          <{GEOTAG}/>");
    let geotag_required = definition.geotag == GeotagRule::Required;
    writer.binds.push(Bind {
        nodeset: format!("{root}{GEOTAG}"),
        kind: Some("geopoint"),
        required: geotag_required,
        required_message: geotag_required.then(|| "Cần lấy vị trí GPS tại nhà".into()),
        ..Bind::default()
    });
    let _ = writeln!(
        writer.body,
        "    <input ref=\"{root}{GEOTAG}\">{}</input>",
        label("Vị trí GPS tại nơi khảo sát")
    );

    let fields = definition.fields.clone();
    writer.fields(&fields, &root, 2, false);

    let _ = writeln!(
        writer.instance,
        "          <meta>\n            <instanceID/>\n          </meta>"
    );
    writer.binds.push(Bind {
        nodeset: format!("{root}meta/instanceID"),
        kind: Some("string"),
        readonly: true,
        preload: Some(("uid", None)),
        ..Bind::default()
    });

    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<h:html xmlns=\"http://www.w3.org/2002/xforms\" xmlns:h=\"http://www.w3.org/1999/xhtml\" xmlns:jr=\"http://openrosa.org/javarosa\" xmlns:odk=\"http://www.opendatakit.org/xforms\" xmlns:orx=\"http://openrosa.org/xforms\">\n");
    out.push_str("  <h:head>\n");
    let _ = writeln!(
        out,
        "    <h:title>{}</h:title>",
        escape(&definition.title.vi)
    );
    out.push_str("    <model odk:xforms-version=\"1.0.0\">\n      <instance>\n");
    let _ = writeln!(
        out,
        "        <{ROOT} id=\"{}\" version=\"{}\">",
        escape(&definition.id.0),
        definition.version
    );
    out.push_str(&writer.instance);
    let _ = writeln!(out, "        </{ROOT}>\n      </instance>");
    let _ = writeln!(
        out,
        "      <instance id=\"villages\" src=\"jr://file-csv/{VILLAGES_CSV}\"/>"
    );
    if about_household {
        let _ = writeln!(
            out,
            "      <instance id=\"households\" src=\"jr://file-csv/{HOUSEHOLDS_CSV}\"/>"
        );
    }
    for bind in &writer.binds {
        bind.write(&mut out);
    }
    out.push_str("    </model>\n  </h:head>\n  <h:body>\n");
    out.push_str(&writer.body);
    out.push_str("  </h:body>\n</h:html>\n");
    out
}

/// The roster files an XForm of this definition reads.
pub fn media_files(definition: &FormDefinition) -> Vec<&'static str> {
    if definition.household == HouseholdRule::None {
        vec![VILLAGES_CSV]
    } else {
        vec![VILLAGES_CSV, HOUSEHOLDS_CSV]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shipped_forms;

    fn form(id: &str) -> FormDefinition {
        shipped_forms()
            .expect("shipped forms parse")
            .into_iter()
            .find(|f| f.id.0 == id)
            .expect("shipped form")
    }

    #[test]
    fn xpath_literals_survive_any_quote() {
        assert_eq!(literal("abc"), "'abc'");
        assert_eq!(literal("it's"), "\"it's\"");
        assert_eq!(literal("a'b\"c"), "concat('a', \"'\", 'b\"c')");
    }

    #[test]
    fn the_household_survey_carries_its_rules_into_xpath() {
        let xml = to_xform(&form("household-survey"));
        // Relevance on a boolean, and a required repeat guarded by an unanswerable question.
        assert!(xml.contains(
            "nodeset=\"/data/relatives_abroad\" relevant=\"/data/has_relative_abroad = &apos;true&apos;\""
        ));
        assert!(xml.contains("nodeset=\"/data/_min_relatives_abroad\" required=\"true()\" relevant=\"(/data/has_relative_abroad = &apos;true&apos;) and count(/data/relatives_abroad) = 0\" constraint=\"false()\""));
        // Constraints: numbers, text lengths and dates.
        assert!(xml.contains("nodeset=\"/data/member_count\" type=\"int\" required=\"true()\" constraint=\". &gt;= 1 and . &lt;= 50\""));
        assert!(
            xml.contains("constraint=\"string-length(.) &gt;= 2 and string-length(.) &lt;= 200\"")
        );
        assert!(xml.contains("constraint=\". &gt;= date(&apos;1950-01-01&apos;)\""));
        // The roster: households filtered by the village picked, and what they owe.
        assert!(xml.contains("instance('households')/root/item[village = /data/_village]"));
        assert!(xml.contains("<instance id=\"households\" src=\"jr://file-csv/households.csv\"/>"));
        assert!(xml.contains("<data id=\"household-survey\" version=\"1\">"));
        assert!(xml.contains("<members jr:template=\"\">"));
        assert!(xml.contains("<select ref=\"/data/runs_business\">"));
    }

    #[test]
    fn multi_photo_fields_get_one_slot_per_photo_and_the_first_ones_are_required() {
        let xml = to_xform(&form("commitment"));
        assert!(xml.contains(
            "nodeset=\"/data/signed_paper_photo/photo_1\" type=\"binary\" required=\"true()\""
        ));
        assert!(xml.contains("nodeset=\"/data/signed_paper_photo/photo_3\" type=\"binary\"/>"));
        assert!(!xml.contains("photo_4"));
        assert_eq!(
            media_files(&form("commitment")),
            vec![VILLAGES_CSV, HOUSEHOLDS_CSV]
        );
    }

    #[test]
    fn a_village_form_has_no_household_question_and_the_output_is_stable() {
        let meeting = form("village-meeting");
        let xml = to_xform(&meeting);
        assert!(!xml.contains(HOUSEHOLD));
        assert_eq!(media_files(&meeting), vec![VILLAGES_CSV]);
        assert_eq!(xml, to_xform(&meeting));
    }

    #[test]
    fn conditions_on_selects_and_repeat_entries() {
        let survey = form("household-survey");
        let names = Names {
            group: None,
            top: &survey.fields,
        };
        let runs = Condition {
            field: "runs_business".into(),
            equals: None,
            one_of: Some(vec!["accommodation".into(), "labour_export".into()]),
            answered: None,
            any: None,
        };
        assert_eq!(
            condition_xpath(&runs, &names),
            "(selected(/data/runs_business, 'accommodation') or selected(/data/runs_business, 'labour_export'))"
        );
        let illegal = Condition {
            field: "relatives_abroad".into(),
            equals: None,
            one_of: None,
            answered: None,
            any: Some(Box::new(Condition {
                field: "legal_status".into(),
                equals: Some("illegal".into()),
                one_of: None,
                answered: None,
                any: None,
            })),
        };
        assert_eq!(
            condition_xpath(&illegal, &names),
            "count(/data/relatives_abroad[legal_status = 'illegal']) > 0"
        );
    }
}
