// The golden suites' CSV reader: a file with a header line as one map (column → field) per row. A missing
// file or a malformed line is a test failure naming the file.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/csv.h"

namespace minyi::golden {

using Table = std::vector<std::map<std::string, std::string>>;

inline Table ReadCsv(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  CsvReader reader(in);
  std::vector<std::string> header;
  std::vector<std::string> fields;
  Status error;
  Table rows;
  while (reader.Next(fields, &error)) {
    EXPECT_TRUE(error.ok()) << path << ": " << error;
    if (header.empty()) {
      header = fields;
      continue;
    }
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

}  // namespace minyi::golden
