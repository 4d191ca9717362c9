//! The local MediaConvert job: once the workflow holds one of the `--jobs` encode slots, ffmpeg
//! encodes the source, the outputs go to the destination bucket (MediaConvert writes them before its
//! job ends), and the job's COMPLETE event is built as EventBridge would deliver it. A failure here is
//! an encoding error, with MediaConvert's codes for the cases the local encoder meets.

use serde_json::Value;

use super::Shared;
use super::services::upload_outputs;
use super::steps::{Failure, Submitted, epoch_ms, event_time, flag, text};
use crate::local_stack::transcode::{self, Rotation, TranscodeError, TranscodePlan};
use crate::local_stack::workflow::{self, OutputDetail, OutputGroupDetail, StackContext};

/// What a finished job hands to the publish steps.
pub(super) struct Encoded {
    /// The COMPLETE event.
    pub event: Value,
    /// The bucket the outputs were written to.
    pub destination: String,
    /// Whether the job wrote frame captures (output-validate then lists them).
    pub frame_capture: bool,
}

/// Runs the submitted job; the caller holds its encode slot for as long as this runs.
pub(super) async fn encode(
    shared: &Shared,
    guid: &str,
    submitted: &Submitted,
) -> Result<Encoded, Failure> {
    let context = &shared.targets.context;
    let Submitted {
        record,
        scratch,
        source_path,
        source_bucket,
        src_video,
        profile,
        job_id,
        has_audio,
        duration_seconds,
        ..
    } = submitted;
    let encoding_failure =
        |message: String, code: u32| encoding_failure(context, guid, job_id, code, &message);
    let plan = TranscodePlan {
        source: source_path.clone(),
        base_name: workflow::output_base_name(src_video),
        ladder: workflow::hls_ladder(*profile).to_vec(),
        groups: submitted.groups,
        frame_capture: flag(record, "frameCapture"),
        rotation: Rotation::from_input_rotate(text(record, "inputRotate").unwrap_or("")),
        has_audio: *has_audio,
        duration_seconds: *duration_seconds,
    };
    let work_dir = work_dir(scratch);
    let written = transcode::transcode(&plan, &work_dir)
        .await
        .map_err(|e| match e {
            TranscodeError::Failed {
                message,
                input_unreadable: true,
            } => encoding_failure(
                format!(
                    "Unable to open input file [s3://{source_bucket}/{src_video}]: [Failed probe/open: [{message}]]"
                ),
                1010,
            ),
            other => encoding_failure(other.to_string(), 1999),
        })?;
    let destination = text(record, "destBucket")
        .unwrap_or(&context.destination_bucket)
        .to_owned();
    upload_outputs(&shared.clients, &destination, guid, &written.files)
        .await
        .map_err(|m| {
            encoding_failure(
                format!(
                    "Unable to write to output file [s3://{destination}/{guid}/]: [Failed to write data: {m}]"
                ),
                1401,
            )
        })?;
    // The COMPLETE event MediaConvert would send.
    let s3_uri = |relative: &str| format!("s3://{destination}/{guid}/{relative}");
    let mut details = Vec::new();
    if let Some(mp4) = &written.mp4 {
        details.push(OutputGroupDetail {
            kind: "FILE_GROUP",
            playlists: vec![],
            outputs: vec![OutputDetail {
                file: Some(s3_uri(&mp4.relative_key)),
                duration_ms: written.duration_ms,
                width: Some(mp4.width),
                height: Some(mp4.height),
            }],
        });
    }
    details.push(OutputGroupDetail {
        kind: "HLS_GROUP",
        playlists: vec![s3_uri(&written.hls_master)],
        outputs: written
            .hls_variants
            .iter()
            .map(|v| OutputDetail {
                file: Some(s3_uri(&v.relative_key)),
                duration_ms: written.duration_ms,
                width: Some(v.width),
                height: Some(v.height),
            })
            .collect(),
    });
    if let Some(manifest) = &written.dash_manifest {
        details.push(OutputGroupDetail {
            kind: "DASH_ISO_GROUP",
            playlists: vec![s3_uri(manifest)],
            outputs: written
                .dash_representations
                .iter()
                .map(|v| OutputDetail {
                    file: None,
                    duration_ms: written.duration_ms,
                    width: Some(v.width),
                    height: Some(v.height),
                })
                .collect(),
        });
    }
    if let Some(cmaf) = &written.cmaf {
        // output-validate reads the DASH manifest first, the HLS playlist second.
        details.push(OutputGroupDetail {
            kind: "CMAF_GROUP",
            playlists: vec![s3_uri(&cmaf.dash_manifest), s3_uri(&cmaf.hls_master)],
            outputs: plan
                .ladder
                .iter()
                .map(|r| OutputDetail {
                    file: None,
                    duration_ms: written.duration_ms,
                    width: Some(r.width),
                    height: Some(r.height),
                })
                .collect(),
        });
    }
    if let Some(mss) = &written.mss {
        // output-validate reads the server manifest; each output names its `.ismv`.
        details.push(OutputGroupDetail {
            kind: "MS_SMOOTH_GROUP",
            playlists: vec![s3_uri(&mss.manifest)],
            outputs: mss
                .outputs
                .iter()
                .map(|v| OutputDetail {
                    file: Some(s3_uri(&v.relative_key)),
                    duration_ms: written.duration_ms,
                    width: Some(v.width),
                    height: Some(v.height),
                })
                .collect(),
        });
    }
    if plan.frame_capture {
        // MediaConvert lists the last capture, at the source's size (the solution's frame group
        // sets no size); output-validate still finds the thumbnail by listing.
        let size = |field: &str| {
            record
                .get(field)
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        details.push(OutputGroupDetail {
            kind: "FILE_GROUP",
            playlists: vec![],
            outputs: vec![OutputDetail {
                file: written.thumbnails.iter().max().map(|key| s3_uri(key)),
                duration_ms: written.duration_ms,
                width: size("srcWidth"),
                height: size("srcHeight"),
            }],
        });
    }
    let event =
        workflow::complete_event(context, guid, job_id, &event_time(), epoch_ms(), &details);
    Ok(Encoded {
        event,
        destination,
        frame_capture: plan.frame_capture,
    })
}

/// Where the job's encode writes (renditions in `enc/`, packaged groups beside them), inside the
/// workflow's scratch folder; MediaPackage reads the renditions from there after the encode.
pub(super) fn work_dir(scratch: &tempfile::TempDir) -> std::path::PathBuf {
    scratch.path().join("out")
}

/// A job that ended in ERROR: MediaConvert's ERROR event with its code and text.
pub(super) fn encoding_failure(
    context: &StackContext,
    guid: &str,
    job_id: &str,
    code: u32,
    message: &str,
) -> Failure {
    let event = workflow::error_event(
        context,
        guid,
        job_id,
        &event_time(),
        epoch_ms(),
        code,
        message,
    );
    Failure::Encoding {
        job_id: job_id.to_owned(),
        event,
    }
}

/// `--simulate encode-error`: the job ends in ERROR as one whose role may not write to the
/// destination bucket does (code 1401).
pub(super) fn simulated_encode_error(context: &StackContext, guid: &str, job_id: &str) -> Failure {
    encoding_failure(
        context,
        guid,
        job_id,
        1401,
        &format!(
            "Unable to write to output file [s3://{}/{guid}/hls/]: [Failed to write data: Access Denied] (simulated: --simulate encode-error)",
            context.destination_bucket
        ),
    )
}
