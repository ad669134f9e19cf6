// Internal to sql/: the dialect adapter under AccessStore. Statements use '?' placeholders (valid in
// both SQLite and MySQL); values travel as integers or text, results come back as text (NULL as
// nullopt). Not part of the store's API.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace minyi::sql {

class Store;
class SqliteStore;
class MysqlStore;

namespace access_detail {

using Value = std::variant<std::int64_t, std::string>;
using Row = std::vector<std::optional<std::string>>;

class Tx {
 public:
  virtual ~Tx() = default;
  virtual Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params) = 0;
  // Rows changed.
  virtual Result<std::int64_t> Execute(const std::string& sql, const std::vector<Value>& params) = 0;
  virtual Result<std::int64_t> LastInsertId() = 0;
};

class Db {
 public:
  virtual ~Db() = default;
  // Runs `fn` in one transaction (committed when it returns OK, rolled back otherwise); errors get
  // `what` as context. A unique-key violation is reported as kConflict.
  virtual Status InTransaction(std::string_view what, const std::function<Status(Tx&)>& fn) = 0;
  // For the few statements that differ by dialect (string concatenation).
  virtual bool mysql() const { return false; }
};

std::unique_ptr<Db> MakeSqliteDb(SqliteStore& store);
std::unique_ptr<Db> MakeMysqlDb(MysqlStore& store);
// Either of the above for a SqliteStore or MysqlStore; nullptr for any other store.
std::unique_ptr<Db> MakeDb(Store& store);

}  // namespace access_detail
}  // namespace minyi::sql
