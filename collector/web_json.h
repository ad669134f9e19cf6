// JSON bodies of the ingest API (POST /api/v1/responses and /api/v1/responses:batch): limits, parsing
// into Submissions, and the JSON answers. Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collector/ingest.h"
#include "collector/json_value.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::collector {

// Reads one submission object (parsed with ParseJson, collector/json_value.h). Problems of shape
// (missing or mistyped fields, unknown fields) are appended to `errors` with their JSON field names
// ("answers.security", "period"), in name order; they are 400s. `raw` is kept as the submission's
// raw payload.
Submission SubmissionFromJson(const JsonValue& object, std::string raw, std::vector<FieldError>& errors);

// The body of one ingest result: {"id":..,"status":"stored","source_ref":..} or the error body of
// core/http/error_reply.h ({"id":..,"error":{..}} for a conflict).
std::string IngestResultJson(const IngestResult& result);

}  // namespace minyi::collector
