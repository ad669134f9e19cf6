// The microdata export's two-stage read: the store's scan on a thread of its own, the caller's visits on
// the calling thread, a bounded queue of pages between them. On two cores the export then takes about
// max(scan, format) instead of their sum (bench/RESULTS.md, "Exports"). Internal to exports/.
#pragma once

#include <cstddef>
#include <functional>

#include "core/ports.h"
#include "core/status.h"

namespace minyi::exports {

// The memory bound of the pipeline: at most `pages` pages exist at once (the one the scan fills, those
// queued, the one being visited), each holding up to `page_rows` responses or `page_bytes` bytes of their
// texts, whichever comes first, plus the one response that crossed the byte limit.
struct ScanPipelineLimits {
  std::size_t page_rows = 1024;
  std::size_t page_bytes = 1 << 20;
  std::size_t pages = 4;  // at least 2
};

// ResponseSource::ScanViews(query, visit), with `source.ScanViews` running on a new thread that copies each
// response into a page (views into the pipeline's own buffers) and `visit` called on the calling thread
// with those pages' views, in the scan's order. Same contract as ScanViews: the views are valid during the
// visit only; returns OK when `visit` stops the scan (returning false); otherwise the scan's status once
// every response it delivered has been visited. A scan that throws fails with kInternal and the
// exception's message. The scan's thread is joined before this returns or throws (an exception from
// `visit` stops the scan first), and the two threads meet only in one mutex-guarded handoff of pages.
// `source` must allow ScanViews on another thread while `visit` uses it (every store here does:
// core/ports.h).
Status PipelinedScanViews(ResponseSource& source, const ResponseQuery& query,
                          const std::function<bool(const ResponseView&)>& visit,
                          const ScanPipelineLimits& limits = {});

}  // namespace minyi::exports
