#include "sql/migrations.h"

#include <algorithm>
#include <cctype>

#include "sql/store.h"

namespace minyi::sql::internal {

std::vector<EmbeddedMigration> MigrationsFor(std::string_view dialect) {
  std::vector<EmbeddedMigration> out;
  for (std::size_t i = 0; i < kEmbeddedMigrationCount; ++i) {
    if (dialect == kEmbeddedMigrations[i].dialect) out.push_back(kEmbeddedMigrations[i]);
  }
  std::sort(out.begin(), out.end(),
            [](const EmbeddedMigration& a, const EmbeddedMigration& b) { return a.version < b.version; });
  return out;
}

namespace {

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::vector<std::string> SplitSqlStatements(std::string_view script) {
  std::vector<std::string> out;
  std::string current;
  char quote = 0;  // the open quote character, 0 outside quotes
  for (std::size_t i = 0; i < script.size(); ++i) {
    const char c = script[i];
    if (quote != 0) {
      current.push_back(c);
      if (c == '\\' && quote != '`' && i + 1 < script.size()) {
        current.push_back(script[++i]);
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      quote = c;
      current.push_back(c);
    } else if (c == '-' && i + 1 < script.size() && script[i + 1] == '-') {
      while (i < script.size() && script[i] != '\n') ++i;
      current.push_back('\n');
    } else if (c == '/' && i + 1 < script.size() && script[i + 1] == '*') {
      const std::size_t end = script.find("*/", i + 2);
      i = end == std::string_view::npos ? script.size() : end + 1;
      current.push_back(' ');
    } else if (c == ';') {
      if (!IsBlank(current)) out.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!IsBlank(current)) out.push_back(current);
  return out;
}

}  // namespace minyi::sql::internal

namespace minyi::sql {

int LatestSchemaVersion() {
  int latest = 0;
  for (std::size_t i = 0; i < internal::kEmbeddedMigrationCount; ++i) {
    latest = std::max(latest, internal::kEmbeddedMigrations[i].version);
  }
  return latest;
}

}  // namespace minyi::sql
