//! The review rules, in one place: `received → approved | rejected (reason) |
//! has_issues`, decisions may be revised (an approval can be reversed), nobody
//! reviews their own submission, and a corrected submission is reviewed through
//! its newest revision. Pure.

use serde::{Deserialize, Serialize};

pub use camket_schema::domain::SubmissionStatus;

/// An officer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
    HasIssues,
}

impl Decision {
    /// The status the decision leads to.
    pub fn target(self) -> SubmissionStatus {
        match self {
            Decision::Approve => SubmissionStatus::Approved,
            Decision::Reject => SubmissionStatus::Rejected,
            Decision::HasIssues => SubmissionStatus::HasIssues,
        }
    }
}

/// Why a review is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewRefusal {
    /// 403: reviewing one's own submission.
    OwnSubmission,
    /// 422: a rejection needs a reason.
    ReasonRequired,
    /// 409: the submission was corrected; review the newer revision.
    Superseded(i64),
    /// 409: it is already in that state.
    AlreadyThere(SubmissionStatus),
}

/// Decides the new status of a submission.
pub fn decide(
    current: SubmissionStatus,
    superseded_by: Option<i64>,
    decision: Decision,
    comment: Option<&str>,
    reviewer_is_submitter: bool,
) -> Result<SubmissionStatus, ReviewRefusal> {
    if reviewer_is_submitter {
        return Err(ReviewRefusal::OwnSubmission);
    }
    if let Some(newer) = superseded_by {
        return Err(ReviewRefusal::Superseded(newer));
    }
    let has_reason = comment.is_some_and(|c| !c.trim().is_empty());
    if decision == Decision::Reject && !has_reason {
        return Err(ReviewRefusal::ReasonRequired);
    }
    let target = decision.target();
    if target == current {
        return Err(ReviewRefusal::AlreadyThere(current));
    }
    Ok(target)
}

/// Whether a submission may be corrected by a new revision.
pub fn correctable(status: SubmissionStatus, superseded_by: Option<i64>) -> Result<(), String> {
    if let Some(newer) = superseded_by {
        return Err(format!(
            "it was already corrected by submission {newer}; correct that one"
        ));
    }
    match status {
        SubmissionStatus::Rejected | SubmissionStatus::HasIssues => Ok(()),
        other => Err(format!(
            "only a rejected or has_issues submission can be corrected; this one is {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubmissionStatus::*;

    #[test]
    fn officers_move_submissions_between_states() {
        assert_eq!(
            decide(Received, None, Decision::Approve, None, false),
            Ok(Approved)
        );
        assert_eq!(
            decide(Received, None, Decision::HasIssues, None, false),
            Ok(HasIssues)
        );
        assert_eq!(
            decide(Received, None, Decision::Reject, Some("ảnh mờ"), false),
            Ok(Rejected)
        );
        assert_eq!(
            decide(Approved, None, Decision::Reject, Some("nhầm hộ"), false),
            Ok(Rejected)
        );
        assert_eq!(
            decide(Received, None, Decision::Reject, Some("  "), false),
            Err(ReviewRefusal::ReasonRequired)
        );
        assert_eq!(
            decide(Received, None, Decision::Approve, None, true),
            Err(ReviewRefusal::OwnSubmission)
        );
        assert_eq!(
            decide(Rejected, Some(9), Decision::Approve, None, false),
            Err(ReviewRefusal::Superseded(9))
        );
        assert_eq!(
            decide(Approved, None, Decision::Approve, None, false),
            Err(ReviewRefusal::AlreadyThere(Approved))
        );
    }

    #[test]
    fn only_rejected_or_questioned_submissions_are_corrected() {
        assert!(correctable(Rejected, None).is_ok());
        assert!(correctable(HasIssues, None).is_ok());
        assert!(correctable(Approved, None).is_err());
        assert!(correctable(Rejected, Some(4))
            .unwrap_err()
            .contains("submission 4"));
    }
}
