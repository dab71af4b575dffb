//! Evidence checks: each a named flag carrying its numbers. Flags never reject
//! a submission; their weights add up to its `risk`, so that officers review the
//! riskiest first. The checks here are pure functions over plain values; the
//! facts they need (village boundary, neighbouring submissions, earlier uses of
//! the same photo) are gathered by the submissions module.

pub mod candidates;
pub mod jpeg_dc;
pub mod keypoints;
pub mod photo;
pub mod similarity;

use crate::locale::{Lang, Text};
use chrono::{DateTime, Duration, Utc};
use geo::{Closest, ClosestPoint, Distance, Haversine, Intersects, Point};
use serde::{Deserialize, Serialize};

/// The limits of the checks (configuration).
#[derive(Debug, Clone, Copy)]
pub struct EvidenceLimits {
    pub max_accuracy_m: f64,
    pub village_radius_m: f64,
    pub household_radius_m: f64,
    pub photo_time_tolerance: Duration,
    pub photo_distance_m: f64,
    pub max_speed_kmh: f64,
    pub future_tolerance: Duration,
}

impl Default for EvidenceLimits {
    fn default() -> EvidenceLimits {
        EvidenceLimits {
            max_accuracy_m: 50.0,
            village_radius_m: 1500.0,
            household_radius_m: 300.0,
            photo_time_tolerance: Duration::hours(3),
            photo_distance_m: 500.0,
            max_speed_kmh: 120.0,
            future_tolerance: Duration::minutes(10),
        }
    }
}

camket_schema::stored_enum! {
    /// The kinds of flag, each with its weight in the risk score.
    pub enum FlagCode ("flag") {
        GeotagMissing = "geotag_missing",
        LowAccuracy = "low_accuracy",
        OutsideVillage = "outside_village",
        FarFromHousehold = "far_from_household",
        PhotoTimeMismatch = "photo_time_mismatch",
        PhotoLocationMismatch = "photo_location_mismatch",
        DuplicatePhoto = "duplicate_photo",
        FutureTime = "future_time",
        BeforeCampaign = "before_campaign",
        ImpossibleTravel = "impossible_travel",
        /// The photo passed the cheap checks but its pixels cannot be decoded.
        PhotoUnreadable = "photo_unreadable",
        /// The photo carries EXIF that cannot be read: its time and place are unknown.
        PhotoExifUnreadable = "photo_exif_unreadable",
    }
}

impl FlagCode {
    /// How much the flag adds to the risk.
    pub fn weight(self) -> i32 {
        match self {
            FlagCode::GeotagMissing => 30,
            FlagCode::LowAccuracy => 10,
            FlagCode::OutsideVillage => 30,
            FlagCode::FarFromHousehold => 20,
            FlagCode::PhotoTimeMismatch => 15,
            FlagCode::PhotoLocationMismatch => 20,
            FlagCode::DuplicatePhoto => 50,
            FlagCode::FutureTime => 30,
            FlagCode::BeforeCampaign => 20,
            FlagCode::ImpossibleTravel => 40,
            FlagCode::PhotoUnreadable => 50,
            FlagCode::PhotoExifUnreadable => 15,
        }
    }
}

/// One raised flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Flag {
    pub code: FlagCode,
    /// For a person: what was found, with the numbers.
    pub detail: String,
    /// The same sentence in Vietnamese, numbers written the Vietnamese way
    /// (empty on flags stored before it existed).
    #[serde(default)]
    pub detail_vi: String,
    /// The measured quantity where there is one (metres, minutes, km/h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The photo part it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// The other submission involved (duplicate photo, travel), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_submission: Option<i64>,
    pub weight: i32,
}

impl Flag {
    fn new(code: FlagCode, text: Text) -> Flag {
        Flag {
            code,
            detail: text.en,
            detail_vi: text.vi,
            value: None,
            photo: None,
            other_submission: None,
            weight: code.weight(),
        }
    }
    fn value(mut self, value: f64) -> Flag {
        self.value = Some((value * 10.0).round() / 10.0);
        self
    }

    /// Its sentence, with its numbers, in `lang` (flags stored before the
    /// Vietnamese sentence existed fall back to the English one).
    pub fn sentence(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi if !self.detail_vi.is_empty() => &self.detail_vi,
            _ => &self.detail,
        }
    }
    fn photo(mut self, name: &str) -> Flag {
        self.photo = Some(name.to_string());
        self
    }
    fn other(mut self, id: i64) -> Flag {
        self.other_submission = Some(id);
        self
    }
}

/// The flag for a photo used before for another subject.
pub fn reuse_flag(reuse: &PhotoReuse) -> Flag {
    let (how, how_vi) = match reuse.kind {
        ReuseKind::SameFile => ("the same file".to_string(), "trùng hệt tệp ảnh".to_string()),
        ReuseKind::Copy { similarity } => (
            format!("a near-identical photo (similarity {similarity:.2})"),
            format!(
                "gần như trùng ảnh (độ giống {})",
                Lang::Vi.number(f64::from(similarity), 2)
            ),
        ),
        ReuseKind::SamePaper { similarity } => (
            format!("the same signed paper photographed again (similarity {similarity:.2})"),
            format!(
                "cùng một tờ cam kết được chụp lại (độ giống {})",
                Lang::Vi.number(f64::from(similarity), 2)
            ),
        ),
    };
    Flag::new(
        FlagCode::DuplicatePhoto,
        Text::new(
            format!(
                "Ảnh '{}' {how_vi} đã gửi cho {} trong phiếu {}",
                reuse.part_name, reuse.other_subject.vi, reuse.other_submission
            ),
            format!(
                "photo '{}' is {how} as one sent for {} in submission {}",
                reuse.part_name, reuse.other_subject.en, reuse.other_submission
            ),
        ),
    )
    .photo(&reuse.part_name)
    .other(reuse.other_submission)
}

impl Flag {
    /// The flag as told to someone whose areas do not cover the other
    /// submission it names: what was found, without which submission,
    /// household or village it was found in.
    pub fn without_other_submission(&self) -> Flag {
        if self.other_submission.is_none() {
            return self.clone();
        }
        let photo = self.photo.as_deref().unwrap_or("?");
        let text = match self.code {
            FlagCode::DuplicatePhoto => Text::new(
                format!(
                    "Ảnh '{photo}' đã được dùng trước đây, trong một phiếu ngoài địa bàn của bạn"
                ),
                format!("photo '{photo}' was used before, in a submission outside your areas"),
            ),
            code => Text::new(
                format!(
                    "{} (phát hiện khi so với một phiếu ngoài địa bàn của bạn)",
                    code.as_str()
                ),
                format!(
                    "{} (found by comparing with a submission outside your areas)",
                    code.as_str()
                ),
            ),
        };
        Flag {
            detail: text.en,
            detail_vi: text.vi,
            other_submission: None,
            ..self.clone()
        }
    }
}

/// Whether `flags` (a submission's) say that its photo `part_name` repeats
/// an earlier one: the same file, a copy, or the same paper photographed again.
pub fn flags_photo_as_repeat(flags: &[Flag], part_name: &str) -> bool {
    flags
        .iter()
        .any(|f| f.code == FlagCode::DuplicatePhoto && f.photo.as_deref() == Some(part_name))
}

/// The flag for a photo whose header was sound but whose pixels are not.
pub fn unreadable_flag(part_name: &str, error: &str) -> Flag {
    Flag::new(
        FlagCode::PhotoUnreadable,
        Text::new(
            format!("Không hiển thị được ảnh '{part_name}': {error}; đề nghị gửi lại"),
            format!("photo '{part_name}' cannot be shown: {error}; ask for it again"),
        ),
    )
    .photo(part_name)
}

/// The total risk of a set of flags.
pub fn risk_of(flags: &[Flag]) -> i32 {
    flags.iter().map(|f| f.weight).sum()
}

/// The phone's geotag.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Geotag {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    #[serde(default)]
    pub altitude_m: Option<f64>,
    #[serde(default)]
    pub captured_at: Option<DateTime<Utc>>,
}

impl Geotag {
    fn point(&self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }
}

/// Where a village is.
#[derive(Debug, Clone)]
pub struct VillagePlace {
    pub name: String,
    pub boundary: Option<geo::Geometry<f64>>,
    /// `(lat, lon)`.
    pub centroid: Option<(f64, f64)>,
}

/// What the photo told us.
#[derive(Debug, Clone)]
pub struct PhotoEvidence {
    pub part_name: String,
    pub taken_at: Option<DateTime<Utc>>,
    /// `(lat, lon)`.
    pub location: Option<(f64, f64)>,
    /// The photo carries EXIF that cannot be read: why.
    pub exif_unreadable: Option<String>,
}

/// An earlier use of (nearly) the same photo for another household or village.
#[derive(Debug, Clone)]
pub struct PhotoReuse {
    pub part_name: String,
    pub other_submission: i64,
    /// The household (or village) the other submission was for, for a person.
    pub other_subject: Text,
    pub kind: ReuseKind,
}

/// How a photo repeats an earlier one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReuseKind {
    /// Byte for byte the same file.
    SameFile,
    /// The same photo re-encoded, resized, cropped, turned or brightened;
    /// `similarity` is the third least alike tile of the paper (see [`similarity`]).
    Copy { similarity: f32 },
    /// A new photo of the same signed paper.
    SamePaper { similarity: f32 },
}

/// The same surveyor's submission collected just before or after this one.
#[derive(Debug, Clone)]
pub struct NeighbourVisit {
    pub submission_id: i64,
    pub collected_at: DateTime<Utc>,
    /// `(lat, lon)`.
    pub location: (f64, f64),
}

/// Everything the checks look at.
#[derive(Debug, Clone)]
pub struct EvidenceInput<'a> {
    pub geotag: Option<Geotag>,
    pub geotag_required: bool,
    pub collected_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub village: &'a VillagePlace,
    /// `(lat, lon)` of the household, where known.
    pub household_location: Option<(f64, f64)>,
    pub photos: &'a [PhotoEvidence],
    pub reuses: &'a [PhotoReuse],
    pub neighbours: &'a [NeighbourVisit],
    /// The campaign window, where the submission belongs to one.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

/// Distance from a point outside a boundary to the boundary, in metres (0 inside or on it).
pub fn distance_outside(boundary: &geo::Geometry<f64>, point: Point<f64>) -> f64 {
    if boundary.intersects(&point) {
        return 0.0;
    }
    match boundary.closest_point(&point) {
        Closest::Intersection(_) => 0.0,
        Closest::SinglePoint(nearest) => Haversine.distance(point, nearest),
        Closest::Indeterminate => f64::INFINITY,
    }
}

fn minutes(d: Duration) -> f64 {
    d.num_seconds().abs() as f64 / 60.0
}

/// Runs every check; returns the raised flags and the total risk.
pub fn assess(input: &EvidenceInput<'_>, limits: &EvidenceLimits) -> (Vec<Flag>, i32) {
    let mut flags = Vec::new();
    match &input.geotag {
        None => {
            let mut flag = Flag::new(
                FlagCode::GeotagMissing,
                Text::new(
                    "Phiếu không có toạ độ GPS",
                    "the submission carries no geotag",
                ),
            );
            if !input.geotag_required {
                flag.weight = 5;
            }
            flags.push(flag);
        }
        Some(geotag) => {
            if let Some(accuracy) = geotag.accuracy_m {
                if accuracy > limits.max_accuracy_m {
                    flags.push(
                        Flag::new(
                            FlagCode::LowAccuracy,
                            Text::new(
                                format!(
                                    "Toạ độ chỉ chính xác đến {}; giới hạn là {}",
                                    Lang::Vi.distance(accuracy),
                                    Lang::Vi.distance(limits.max_accuracy_m)
                                ),
                                format!(
                                    "the geotag is accurate to {accuracy:.0} m; the limit is {:.0} m",
                                    limits.max_accuracy_m
                                ),
                            ),
                        )
                        .value(accuracy),
                    );
                }
            }
            let point = geotag.point();
            let village = input.village;
            if let Some(boundary) = &village.boundary {
                let outside = distance_outside(boundary, point);
                if outside > 0.0 {
                    flags.push(
                        Flag::new(
                            FlagCode::OutsideVillage,
                            Text::new(
                                format!(
                                    "Vị trí khai báo nằm ngoài ranh giới {} {}",
                                    village.name,
                                    Lang::Vi.distance(outside)
                                ),
                                format!("{outside:.0} m outside the boundary of {}", village.name),
                            ),
                        )
                        .value(outside),
                    );
                }
            } else if let Some(centroid) = village.centroid {
                let distance = metres((geotag.lat, geotag.lon), centroid);
                if distance > limits.village_radius_m {
                    flags.push(
                        Flag::new(
                            FlagCode::OutsideVillage,
                            Text::new(
                                format!(
                                    "Vị trí khai báo cách trung tâm {} {}, quá {}",
                                    village.name,
                                    Lang::Vi.distance(distance),
                                    Lang::Vi.distance(limits.village_radius_m)
                                ),
                                format!(
                                    "{distance:.0} m from the centre of {}; more than {:.0} m",
                                    village.name, limits.village_radius_m
                                ),
                            ),
                        )
                        .value(distance),
                    );
                }
            }
            if let Some(home) = input.household_location {
                let distance = metres((geotag.lat, geotag.lon), home);
                if distance > limits.household_radius_m {
                    flags.push(
                        Flag::new(FlagCode::FarFromHousehold, Text::new(
                            format!(
                                "Vị trí khai báo cách vị trí đã biết của hộ {}, quá {}",
                                Lang::Vi.distance(distance),
                                Lang::Vi.distance(limits.household_radius_m)
                            ),
                            format!(
                                "{distance:.0} m from the household's known location; more than {:.0} m",
                                limits.household_radius_m
                            ),
                        ))
                        .value(distance),
                    );
                }
            }
            for photo in input.photos {
                if let Some(location) = photo.location {
                    let distance = metres((geotag.lat, geotag.lon), location);
                    if distance > limits.photo_distance_m {
                        flags.push(
                            Flag::new(FlagCode::PhotoLocationMismatch, Text::new(
                                format!(
                                    "Ảnh '{}' chụp cách vị trí khai báo {}",
                                    photo.part_name,
                                    Lang::Vi.distance(distance)
                                ),
                                format!(
                                    "photo '{}' was taken {distance:.0} m from where the form was filled",
                                    photo.part_name
                                ),
                            ))
                            .value(distance)
                            .photo(&photo.part_name),
                        );
                    }
                }
            }
        }
    }
    for photo in input.photos {
        if let Some(why) = &photo.exif_unreadable {
            flags.push(
                Flag::new(
                    FlagCode::PhotoExifUnreadable,
                    Text::new(
                        format!(
                            "Không đọc được EXIF của ảnh '{}' ({why}): không rõ chụp khi nào, ở đâu",
                            photo.part_name
                        ),
                        format!(
                            "the EXIF of photo '{}' cannot be read ({why}): when and where it was taken is unknown",
                            photo.part_name
                        ),
                    ),
                )
                .photo(&photo.part_name),
            );
        }
        if let Some(taken) = photo.taken_at {
            let gap = taken - input.collected_at;
            if gap.abs() > limits.photo_time_tolerance {
                flags.push(
                    Flag::new(
                        FlagCode::PhotoTimeMismatch,
                        Text::new(
                            format!(
                                "Ảnh '{}' chụp {} phút {} khi điền phiếu",
                                photo.part_name,
                                Lang::Vi.number(minutes(gap), 0),
                                if gap < Duration::zero() {
                                    "trước"
                                } else {
                                    "sau"
                                }
                            ),
                            format!(
                                "photo '{}' was taken {:.0} minutes {} the form was filled",
                                photo.part_name,
                                minutes(gap),
                                if gap < Duration::zero() {
                                    "before"
                                } else {
                                    "after"
                                }
                            ),
                        ),
                    )
                    .value(minutes(gap))
                    .photo(&photo.part_name),
                );
            } else if let Some((start, end)) = input.window {
                if taken < start || taken > end {
                    flags.push(
                        Flag::new(
                            FlagCode::PhotoTimeMismatch,
                            Text::new(
                                format!(
                                    "Ảnh '{}' chụp ngày {}, ngoài thời gian chiến dịch",
                                    photo.part_name,
                                    taken.format("%d/%m/%Y")
                                ),
                                format!(
                                    "photo '{}' was taken on {}, outside the campaign window",
                                    photo.part_name,
                                    taken.format("%Y-%m-%d")
                                ),
                            ),
                        )
                        .photo(&photo.part_name),
                    );
                }
            }
        }
    }
    if input.collected_at > input.now + limits.future_tolerance {
        let ahead = minutes(input.collected_at - input.now);
        flags.push(
            Flag::new(
                FlagCode::FutureTime,
                Text::new(
                    format!(
                        "Thời điểm thu thập ở tương lai {} phút; kiểm tra đồng hồ điện thoại",
                        Lang::Vi.number(ahead, 0)
                    ),
                    format!(
                        "collected_at is {ahead:.0} minutes in the future; check the phone's clock"
                    ),
                ),
            )
            .value(ahead),
        );
    }
    if let Some((start, _)) = input.window {
        if input.collected_at < start {
            flags.push(Flag::new(
                FlagCode::BeforeCampaign,
                Text::new(
                    format!(
                        "Thu thập ngày {}, trước khi chiến dịch bắt đầu ngày {}",
                        input.collected_at.format("%d/%m/%Y"),
                        start.format("%d/%m/%Y")
                    ),
                    format!(
                        "collected on {}, before the campaign began on {}",
                        input.collected_at.format("%Y-%m-%d"),
                        start.format("%Y-%m-%d")
                    ),
                ),
            ));
        }
    }
    flags.extend(input.reuses.iter().map(reuse_flag));
    if let Some(geotag) = &input.geotag {
        for visit in input.neighbours {
            let hours = (input.collected_at - visit.collected_at)
                .num_seconds()
                .abs() as f64
                / 3600.0;
            let distance_km = metres((geotag.lat, geotag.lon), visit.location) / 1000.0;
            // Below a minute apart, a phone's clock and GPS noise decide: use a floor.
            let speed = distance_km / hours.max(1.0 / 60.0);
            if distance_km > 1.0 && speed > limits.max_speed_kmh {
                flags.push(
                    Flag::new(
                        FlagCode::ImpossibleTravel,
                        Text::new(
                            format!(
                                "Cách phiếu {} {} trong {} phút: {} km/h",
                                visit.submission_id,
                                Lang::Vi.distance(distance_km * 1000.0),
                                Lang::Vi.number(hours * 60.0, 0),
                                Lang::Vi.number(speed, 0)
                            ),
                            format!(
                                "{distance_km:.1} km from submission {} in {:.0} minutes: {speed:.0} km/h",
                                visit.submission_id,
                                hours * 60.0
                            ),
                        ),
                    )
                    .value(speed)
                    .other(visit.submission_id),
                );
            }
        }
    }
    let risk = risk_of(&flags);
    (flags, risk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn village() -> VillagePlace {
        let square = geo::Polygon::new(
            geo::LineString::from(vec![
                (105.0, 19.0),
                (105.02, 19.0),
                (105.02, 19.02),
                (105.0, 19.02),
                (105.0, 19.0),
            ]),
            vec![],
        );
        VillagePlace {
            name: "Thôn 3".into(),
            boundary: Some(geo::Geometry::Polygon(square)),
            centroid: Some((19.01, 105.01)),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn input<'a>(village: &'a VillagePlace, geotag: Option<Geotag>) -> EvidenceInput<'a> {
        EvidenceInput {
            geotag,
            geotag_required: true,
            collected_at: at("2025-04-22T02:00:00Z"),
            now: at("2025-04-22T03:00:00Z"),
            village,
            household_location: None,
            photos: &[],
            reuses: &[],
            neighbours: &[],
            window: None,
        }
    }

    fn codes(flags: &[Flag]) -> Vec<FlagCode> {
        flags.iter().map(|f| f.code).collect()
    }

    fn inside() -> Geotag {
        Geotag {
            lat: 19.01,
            lon: 105.01,
            accuracy_m: Some(8.0),
            altitude_m: None,
            captured_at: None,
        }
    }

    #[test]
    fn a_clean_submission_raises_nothing() {
        let v = village();
        let (flags, risk) = assess(&input(&v, Some(inside())), &EvidenceLimits::default());
        assert_eq!(flags, vec![]);
        assert_eq!(risk, 0);
    }

    #[test]
    fn position_checks_carry_their_distances() {
        let v = village();
        let limits = EvidenceLimits::default();
        // 0.01° of longitude at 19°N is about 1,051 m.
        let outside = Geotag {
            lon: 105.03,
            accuracy_m: Some(120.0),
            ..inside()
        };
        let mut case = input(&v, Some(outside));
        case.household_location = Some((19.01, 105.01));
        let (flags, risk) = assess(&case, &limits);
        assert_eq!(
            codes(&flags),
            vec![
                FlagCode::LowAccuracy,
                FlagCode::OutsideVillage,
                FlagCode::FarFromHousehold
            ]
        );
        let metres = flags[1].value.unwrap_or(0.0);
        assert!((1000.0..1100.0).contains(&metres), "{metres}");
        assert!(
            flags[1]
                .detail
                .ends_with("m outside the boundary of Thôn 3"),
            "{}",
            flags[1].detail
        );
        assert_eq!(risk, 10 + 30 + 20);

        let no_polygon = VillagePlace {
            boundary: None,
            ..village()
        };
        let far = Geotag {
            lat: 19.03,
            ..inside()
        };
        let (flags, _) = assess(&input(&no_polygon, Some(far)), &limits);
        assert_eq!(codes(&flags), vec![FlagCode::OutsideVillage]);
        assert!(flags[0].detail.contains("from the centre of Thôn 3"));
    }

    #[test]
    fn the_boundary_itself_counts_as_inside() {
        let v = village();
        let on_edge = Geotag {
            lon: 105.02,
            ..inside()
        };
        assert_eq!(
            assess(&input(&v, Some(on_edge)), &EvidenceLimits::default()).0,
            vec![]
        );
    }

    #[test]
    fn missing_geotag_weighs_by_the_form_rule() {
        let v = village();
        let (flags, risk) = assess(&input(&v, None), &EvidenceLimits::default());
        assert_eq!(codes(&flags), vec![FlagCode::GeotagMissing]);
        assert_eq!(risk, 30);
        let mut optional = input(&v, None);
        optional.geotag_required = false;
        assert_eq!(assess(&optional, &EvidenceLimits::default()).1, 5);
    }

    #[test]
    fn photo_time_and_place_must_agree() {
        let v = village();
        let photos = vec![
            PhotoEvidence {
                part_name: "a.jpg".into(),
                taken_at: Some(at("2025-04-21T20:00:00Z")),
                location: Some((19.01, 105.01)),
                exif_unreadable: None,
            },
            PhotoEvidence {
                part_name: "b.jpg".into(),
                taken_at: Some(at("2025-04-22T02:10:00Z")),
                location: Some((19.2, 105.01)),
                exif_unreadable: None,
            },
        ];
        let mut case = input(&v, Some(inside()));
        case.photos = &photos;
        let (flags, _) = assess(&case, &EvidenceLimits::default());
        assert_eq!(
            codes(&flags),
            vec![FlagCode::PhotoLocationMismatch, FlagCode::PhotoTimeMismatch]
        );
        assert_eq!(flags[0].photo.as_deref(), Some("b.jpg"));
        assert_eq!(flags[1].photo.as_deref(), Some("a.jpg"));
        assert_eq!(flags[1].value, Some(360.0));
        // Each sentence exists in Vietnamese too, numbers written the Vietnamese way.
        let far = &flags[0].detail_vi;
        assert!(
            far.starts_with("Ảnh 'b.jpg' chụp cách vị trí khai báo ") && far.ends_with(" km"),
            "{far}"
        );
        assert!(far.contains(','), "one decimal, with a comma: {far}");
        assert!(
            flags[1].detail_vi.contains("360 phút"),
            "{}",
            flags[1].detail_vi
        );
    }

    #[test]
    fn exif_that_cannot_be_read_is_a_flag_with_its_reason() {
        let v = village();
        let photos = vec![PhotoEvidence {
            part_name: "paper.jpg".into(),
            taken_at: None,
            location: None,
            exif_unreadable: Some("unexpected next IFD".into()),
        }];
        let mut case = input(&v, Some(inside()));
        case.photos = &photos;
        let (flags, risk) = assess(&case, &EvidenceLimits::default());
        assert_eq!(codes(&flags), vec![FlagCode::PhotoExifUnreadable]);
        assert!(
            flags[0].detail.contains("unexpected next IFD"),
            "{}",
            flags[0].detail
        );
        assert_eq!(flags[0].photo.as_deref(), Some("paper.jpg"));
        assert_eq!(risk, 15);
    }

    #[test]
    fn times_in_the_future_or_before_the_campaign_are_flagged() {
        let v = village();
        let mut case = input(&v, Some(inside()));
        case.now = at("2025-04-22T01:00:00Z");
        case.window = Some((at("2025-04-23T00:00:00Z"), at("2025-05-18T00:00:00Z")));
        let (flags, _) = assess(&case, &EvidenceLimits::default());
        assert_eq!(
            codes(&flags),
            vec![FlagCode::FutureTime, FlagCode::BeforeCampaign]
        );
    }

    #[test]
    fn a_surveyor_cannot_be_in_two_places_at_once() {
        let v = village();
        let neighbours = vec![
            NeighbourVisit {
                submission_id: 7,
                collected_at: at("2025-04-22T01:50:00Z"),
                location: (19.011, 105.011),
            },
            NeighbourVisit {
                submission_id: 8,
                collected_at: at("2025-04-22T02:10:00Z"),
                location: (19.5, 105.5),
            },
        ];
        let mut case = input(&v, Some(inside()));
        case.neighbours = &neighbours;
        let (flags, _) = assess(&case, &EvidenceLimits::default());
        assert_eq!(codes(&flags), vec![FlagCode::ImpossibleTravel]);
        assert_eq!(flags[0].other_submission, Some(8));
        assert!(flags[0].value.unwrap_or(0.0) > 120.0);
    }

    #[test]
    fn reused_photos_name_the_other_submission() {
        let v = village();
        let reuses = vec![PhotoReuse {
            part_name: "p.jpg".into(),
            other_submission: 3,
            other_subject: Text::new("hộ HGD-0002", "household HGD-0002"),
            kind: ReuseKind::Copy { similarity: 0.93 },
        }];
        let mut case = input(&v, Some(inside()));
        case.reuses = &reuses;
        let (flags, risk) = assess(&case, &EvidenceLimits::default());
        assert_eq!(codes(&flags), vec![FlagCode::DuplicatePhoto]);
        assert!(flags[0]
            .detail
            .contains("near-identical photo (similarity 0.93)"));
        assert!(
            flags[0].detail_vi.contains("độ giống 0,93")
                && flags[0].detail_vi.contains("hộ HGD-0002"),
            "{}",
            flags[0].detail_vi
        );
        assert_eq!(risk, 50);

        let again = vec![PhotoReuse {
            kind: ReuseKind::SamePaper { similarity: 0.81 },
            ..reuses[0].clone()
        }];
        case.reuses = &again;
        let (flags, _) = assess(&case, &EvidenceLimits::default());
        assert_eq!(codes(&flags), vec![FlagCode::DuplicatePhoto]);
        assert!(flags[0]
            .detail
            .contains("the same signed paper photographed again (similarity 0.81)"));
        assert!(flags[0].detail_vi.contains("được chụp lại"));
        assert!(flags_photo_as_repeat(&flags, "p.jpg"));
        assert!(!flags_photo_as_repeat(&flags, "other.jpg"));
        let unreadable = [unreadable_flag("p.jpg", "truncated")];
        assert!(!flags_photo_as_repeat(&unreadable, "p.jpg"));
    }
}
