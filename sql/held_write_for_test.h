// Test-only helper for the store tests of sql/: a write transaction held open on a store's db.h
// connection, to check that reads answer beside an open write (Db::Read).
#pragma once

#include <chrono>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "sql/db.h"

namespace minyi::sql {

class HeldWrite {
 public:
  // Runs `sql` in a new transaction on another thread and returns once it ran; the transaction
  // stays open until Release() (or 30 s, after which it rolls back with kInternal).
  HeldWrite(db::Db& db, std::string sql, std::vector<db::Value> params) {
    std::shared_future<void> released = release_.get_future().share();
    writer_ = std::async(
        std::launch::async, [this, &db, sql = std::move(sql), params = std::move(params), released] {
          bool ran = false;
          Status s = db.InTransaction("hold a write", db::Work::kOnce, [&](db::Tx& tx) -> Status {
            auto done = tx.Execute(sql, params);
            ran = true;
            ran_.set_value();
            if (released.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
              return Status::Internal("the test never released the writer");
            }
            return done.ok() ? Status::Ok() : done.status();
          });
          if (!ran) ran_.set_value();  // the transaction did not start: Release() reports why
          return s;
        });
    ran_.get_future().wait();
  }
  HeldWrite(const HeldWrite&) = delete;
  HeldWrite& operator=(const HeldWrite&) = delete;
  ~HeldWrite() { (void)Release(); }

  // Commits the transaction; its status.
  Status Release() {
    if (!writer_.valid()) return Status::Ok();
    release_.set_value();
    return writer_.get();
  }

 private:
  std::promise<void> ran_, release_;
  std::future<Status> writer_;
};

}  // namespace minyi::sql
