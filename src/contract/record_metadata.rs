//! The fields a metadata file added to a workflow record (contract §3: input-validate copies every
//! key of the file into the record, first letter lower-cased, and they are stored in DynamoDB and
//! echoed in the Complete message): on a Metadata workflow, every attribute that is not one of the
//! solution's own. They are whatever the file's author wrote, so they are bounded for display: at
//! most [`MAX_FIELDS`] fields, names and values on one line, values cut at [`MAX_VALUE_CHARS`].

use serde_json::{Map, Value};

use super::terminal::one_line;

/// Fields kept; a record with more says how many were left out.
pub const MAX_FIELDS: usize = 32;
/// Characters of a value kept, then `…`.
pub const MAX_VALUE_CHARS: usize = 200;
const MAX_NAME_CHARS: usize = 64;

/// Every attribute the solution itself writes into a record or its messages (contract §5, §4; v4's
/// spellings included), so that what remains came from the metadata file.
const SOLUTION_ATTRIBUTES: [&str; 62] = [
    "guid",
    "startTime",
    "workflowTrigger",
    "workflowStatus",
    "status",
    "workflowName",
    "srcBucket",
    "destBucket",
    "cloudFront",
    "frameCapture",
    "archiveSource",
    "jobTemplate_2160p",
    "jobTemplate_1080p",
    "jobTemplate_720p",
    "inputRotate",
    "acceleratedTranscoding",
    "enableSns",
    "enableSqs",
    "enableMediaPackage",
    "srcMetadataFile",
    "srcVideo",
    "srcMediainfo",
    "srcHeight",
    "srcWidth",
    "encodingProfile",
    "frameCaptureHeight",
    "frameCaptureWidth",
    "jobTemplate",
    "isCustomTemplate",
    "encodingJob",
    "encodeJobId",
    "ecodeJobId",
    "encodingOutput",
    "endTime",
    "EndTime",
    "hlsPlaylist",
    "hlsUrl",
    "dashPlaylist",
    "dashUrl",
    "mssPlaylist",
    "mssUrl",
    "cmafDashPlaylist",
    "cmafDashUrl",
    "cmafHlsPlaylist",
    "cmafHlsUrl",
    "mp4Outputs",
    "mp4Urls",
    "thumbNails",
    "thumbNailsUrls",
    "thumbNail",
    "thumbNailUrl",
    "thumbNailsUrl",
    "mediaPackageResourceId",
    "egressEndpoints",
    "workflowErrorAt",
    "errorMessage",
    "errorDetails",
    "captions",
    "srcMediainfo_v4",
    "frameHeight",
    "frameWidth",
    "sRCVIDEO",
];

/// The name input-validate stores a metadata file's key under: the key with its first character
/// lower-cased (`FrameCapture` → `frameCapture`, `SRCVIDEO` → `sRCVIDEO`; contract §3).
pub fn stored_name(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One field a metadata file added: its name as stored and its value as text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetadataField {
    pub name: String,
    pub value: String,
}

/// The metadata file's own fields of a Metadata workflow's record, in name order (the record's own
/// order is not kept by DynamoDB), and how many more there were beyond [`MAX_FIELDS`].
pub fn metadata_fields(record: &Map<String, Value>) -> (Vec<MetadataField>, usize) {
    if record.get("workflowTrigger").and_then(Value::as_str) != Some("Metadata") {
        return (Vec::new(), 0);
    }
    let mut names: Vec<&String> = record
        .keys()
        .filter(|name| !SOLUTION_ATTRIBUTES.contains(&name.as_str()))
        .collect();
    names.sort();
    let more = names.len().saturating_sub(MAX_FIELDS);
    let fields = names
        .into_iter()
        .take(MAX_FIELDS)
        .filter_map(|name| {
            let value = record.get(name)?;
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(MetadataField {
                name: cut(&one_line(name), MAX_NAME_CHARS),
                value: cut(&one_line(&text), MAX_VALUE_CHARS),
            })
        })
        .collect();
    (fields, more)
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn only_a_metadata_workflows_own_fields_are_kept_bounded_and_on_one_line() {
        let record = map(json!({
            "guid": "g", "workflowTrigger": "Metadata", "srcVideo": "a.mp4", "jobTemplate": "t",
            "title": "Town Hall,\nMarch", "presenter": "Dana Ruiz", "season": 3, "tags": ["a", "b"],
            "notes": "x".repeat(500),
        }));
        let (fields, more) = metadata_fields(&record);
        assert_eq!(more, 0);
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["notes", "presenter", "season", "tags", "title"]);
        assert_eq!(fields[4].value, "Town Hall, March");
        assert_eq!(fields[2].value, "3");
        assert_eq!(fields[3].value, r#"["a","b"]"#);
        assert_eq!(fields[0].value.chars().count(), MAX_VALUE_CHARS + 1);
        let video = map(json!({"guid": "g", "workflowTrigger": "Video", "title": "x"}));
        assert_eq!(metadata_fields(&video), (Vec::new(), 0));
        let mut many = map(json!({"workflowTrigger": "Metadata"}));
        for i in 0..40 {
            many.insert(format!("k{i:02}"), json!(i));
        }
        let (fields, more) = metadata_fields(&many);
        assert_eq!((fields.len(), more), (MAX_FIELDS, 8));
    }
}
