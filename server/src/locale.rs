//! The two languages people read camket in: Vietnamese (the default) and
//! English. Numbers follow vi-VN (`1.234,5`) or en (`1,234.5`); dates are
//! `dd/mm/yyyy` and times 24-hour in local time. A sentence meant for a person
//! is a [`Text`], written in both languages where it is made.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A language of the console and of the sentences in flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// The language for a code (`vi`, `en`); Vietnamese for anything else.
    pub fn from_code(code: &str) -> Lang {
        if code.trim().eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Vi
        }
    }

    /// The code, as in `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// Picks the sentence in this language.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// `value` with `decimals` decimals and grouped thousands.
    pub fn number(self, value: f64, decimals: usize) -> String {
        let (group, point) = match self {
            Lang::Vi => ('.', ','),
            Lang::En => (',', '.'),
        };
        if !value.is_finite() {
            return "—".into();
        }
        let text = format!("{:.*}", decimals, value.abs());
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(digit);
        }
        let negative = value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
        let sign = if negative { "-" } else { "" };
        if fraction.is_empty() {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}{point}{fraction}")
        }
    }

    /// A whole count, grouped.
    pub fn count(self, value: i64) -> String {
        self.number(value as f64, 0)
    }

    /// A distance: metres below a kilometre, else kilometres with one decimal.
    pub fn distance(self, metres: f64) -> String {
        if metres.abs() < 1000.0 {
            format!("{} m", self.number(metres, 0))
        } else {
            format!("{} km", self.number(metres / 1000.0, 1))
        }
    }

    /// A percentage with one decimal.
    pub fn percent(self, value: f64) -> String {
        format!("{} %", self.number(value, 1))
    }
}

/// A day written `YYYY-MM-DD` (as date inputs send it), in the years a
/// campaign can concern (2000 to 2100): far-off dates would overflow the
/// arithmetic of periods and windows.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)))
}

/// `dd/mm/yyyy`.
pub fn date(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

/// `dd/mm/yyyy HH:MM` at `offset` (Vietnam time on a Vietnamese server).
pub fn date_time(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// A sentence for a person, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text {
    pub vi: String,
    pub en: String,
}

impl Text {
    /// A sentence from its two versions.
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// The version in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.vi, &self.en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_and_point_the_way_each_language_does() {
        assert_eq!(Lang::Vi.number(1234567.891, 1), "1.234.567,9");
        assert_eq!(Lang::En.number(1234567.891, 1), "1,234,567.9");
        assert_eq!(Lang::Vi.number(999.0, 0), "999");
        assert_eq!(Lang::Vi.number(-1500.0, 0), "-1.500");
        assert_eq!(Lang::Vi.number(-0.01, 0), "0");
        assert_eq!(Lang::Vi.count(1_000_000), "1.000.000");
        assert_eq!(Lang::Vi.number(f64::NAN, 1), "—");
    }

    #[test]
    fn distances_switch_to_kilometres_at_one_kilometre() {
        assert_eq!(Lang::Vi.distance(2300.0), "2,3 km");
        assert_eq!(Lang::En.distance(2300.0), "2.3 km");
        assert_eq!(Lang::Vi.distance(850.4), "850 m");
        assert_eq!(Lang::Vi.percent(87.26), "87,3 %");
    }

    #[test]
    fn dates_are_day_first_in_local_time() {
        let vietnam = FixedOffset::east_opt(7 * 3600).expect("offset");
        let at = DateTime::parse_from_rfc3339("2026-11-26T18:30:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(date_time(at, vietnam), "27/11/2026 01:30");
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 1, 5).expect("date")),
            "05/01/2026"
        );
        assert_eq!(Lang::from_code("EN"), Lang::En);
        assert_eq!(Lang::from_code("fr"), Lang::Vi);
        assert_eq!(
            parse_day("2026-11-27"),
            NaiveDate::from_ymd_opt(2026, 11, 27)
        );
        assert_eq!(parse_day("+262142-12-31"), None);
        assert_eq!(parse_day("27/11/2026"), None);
    }
}
