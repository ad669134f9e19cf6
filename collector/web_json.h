// JSON bodies of the ingest API (POST /api/v1/responses and /api/v1/responses:batch): limits, parsing
// into Submissions, and the JSON answers. Pure functions, no I/O.
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <string>
#include <string_view>
#include <vector>

#include "collector/ingest.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::collector {

// kInvalidInput when arrays/objects nest deeper than `max_depth` (checked before parsing, so a
// hostile body cannot exhaust the parser's stack).
Status CheckJsonDepth(std::string_view body, int max_depth);

// Depth check, then Poco's parser. kInvalidInput "JSON: <reason>" on a syntax error.
Result<Poco::Dynamic::Var> ParseJsonBody(std::string_view body, int max_depth);

// Reads one submission object. Problems of shape (missing or mistyped fields, unknown fields) are
// appended to `errors` with their JSON field names ("answers.security", "period"); they are 400s.
// `raw` is kept as the submission's raw payload.
Submission SubmissionFromJson(const Poco::JSON::Object& object, std::string raw, std::vector<FieldError>& errors);

// {"error":{"code":..,"message":..,"fields":[{"field":..,"reason":..}]}}
std::string ErrorJson(std::string_view code, std::string_view message, const std::vector<FieldError>& fields = {});
// The body of one ingest result: {"id":..,"status":"stored","source_ref":..} or an error object.
std::string IngestResultJson(const IngestResult& result);

}  // namespace minyi::collector
