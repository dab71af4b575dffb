//! What the pages call things, in each language: statuses, flags, decisions,
//! coverage standings, targets, levels.

use camket_schema::domain::{AreaLevel, SubmissionStatus};

use crate::coverage::rules::Status as Standing;
use crate::evidence::{Flag, FlagCode};
use crate::locale::Lang;

/// A review status.
pub fn status(lang: Lang, status: SubmissionStatus) -> &'static str {
    match status {
        SubmissionStatus::Received => lang.pick("Chờ duyệt", "Awaiting review"),
        SubmissionStatus::Approved => lang.pick("Đã duyệt", "Approved"),
        SubmissionStatus::Rejected => lang.pick("Bị trả lại", "Rejected"),
        SubmissionStatus::HasIssues => lang.pick("Cần xem lại", "Has issues"),
    }
}

/// A flag's short name, for a chip.
pub fn flag_name(lang: Lang, code: FlagCode) -> &'static str {
    match code {
        FlagCode::GeotagMissing => lang.pick("Không có toạ độ", "No geotag"),
        FlagCode::LowAccuracy => lang.pick("Toạ độ kém chính xác", "Low GPS accuracy"),
        FlagCode::OutsideVillage => lang.pick("Ngoài địa bàn thôn", "Outside the village"),
        FlagCode::FarFromHousehold => lang.pick("Xa vị trí hộ", "Far from the household"),
        FlagCode::PhotoTimeMismatch => lang.pick("Giờ chụp ảnh lệch", "Photo time differs"),
        FlagCode::PhotoLocationMismatch => lang.pick("Nơi chụp ảnh lệch", "Photo place differs"),
        FlagCode::DuplicatePhoto => lang.pick("Ảnh dùng lại", "Reused photo"),
        FlagCode::FutureTime => lang.pick("Thời gian ở tương lai", "Time in the future"),
        FlagCode::BeforeCampaign => lang.pick("Trước chiến dịch", "Before the campaign"),
        FlagCode::ImpossibleTravel => lang.pick("Di chuyển bất thường", "Impossible travel"),
        FlagCode::PhotoUnreadable => lang.pick("Ảnh hỏng", "Unreadable photo"),
        FlagCode::PhotoExifUnreadable => lang.pick("EXIF hỏng", "Unreadable EXIF"),
    }
}

/// How serious a flag is, as a CSS class of its chip.
pub fn severity(flag: &Flag) -> &'static str {
    match flag.weight {
        40.. => "high",
        20..=39 => "medium",
        _ => "low",
    }
}

/// A coverage standing against the deadline.
pub fn standing(lang: Lang, standing: Standing) -> &'static str {
    match standing {
        Standing::Met => lang.pick("Đạt", "Met"),
        Standing::OnTrack => lang.pick("Đúng tiến độ", "On track"),
        Standing::Behind => lang.pick("Chậm tiến độ", "Behind"),
        Standing::Overdue => lang.pick("Quá hạn", "Overdue"),
    }
}

/// An area level.
pub fn level(lang: Lang, level: AreaLevel) -> &'static str {
    match level {
        AreaLevel::Province => lang.pick("Tỉnh", "Province"),
        AreaLevel::District => lang.pick("Huyện", "District"),
        AreaLevel::Commune => lang.pick("Xã", "Commune"),
        AreaLevel::Village => lang.pick("Thôn", "Village"),
    }
}

/// A campaign target by its key (`household_reporting`, `village_meeting`…).
pub fn target(lang: Lang, key: &str) -> String {
    match (lang, crate::coverage::rules::TargetKind::parse(key)) {
        (Lang::Vi, Ok(kind)) => kind.label_vi().to_string(),
        _ => {
            let words = key.replace('_', " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}
