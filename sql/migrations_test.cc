#include "sql/migrations.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sql/store.h"

namespace minyi::sql::internal {
namespace {

TEST(EmbeddedMigrationsTest, BothDialectsHaveTheSameVersionsInOrder) {
  const std::vector<EmbeddedMigration> sqlite = MigrationsFor("sqlite");
  const std::vector<EmbeddedMigration> mysql = MigrationsFor("mysql");
  ASSERT_FALSE(sqlite.empty());
  ASSERT_EQ(sqlite.size(), mysql.size());
  for (std::size_t i = 0; i < sqlite.size(); ++i) {
    EXPECT_EQ(sqlite[i].version, static_cast<int>(i) + 1) << "versions must be 1, 2, 3, ... without gaps";
    EXPECT_EQ(sqlite[i].version, mysql[i].version);
    EXPECT_STREQ(sqlite[i].name, mysql[i].name);
  }
  EXPECT_EQ(LatestSchemaVersion(), sqlite.back().version);
  EXPECT_STREQ(sqlite.front().name, "initial");
}

TEST(EmbeddedMigrationsTest, EmbeddedTextIsTheFileContent) {
  const std::vector<EmbeddedMigration> sqlite = MigrationsFor("sqlite");
  ASSERT_FALSE(sqlite.empty());
  const std::string text = sqlite.front().sql;
  EXPECT_NE(text.find("CREATE TABLE responses"), std::string::npos);
  EXPECT_NE(text.find("UNIQUE (channel, source_ref)"), std::string::npos);
  EXPECT_TRUE(MigrationsFor("oracle").empty());
}

TEST(SplitSqlStatementsTest, SplitsOnSemicolonsOutsideQuotesAndComments) {
  const std::vector<std::string> statements = SplitSqlStatements(
      "-- a comment; with a semicolon\n"
      "CREATE TABLE a (x TEXT DEFAULT 'x;y');\n"
      "/* block; comment */ INSERT INTO `we;ird` VALUES (\"q;\", 'it''s; fine');\n"
      "  ;  \n"
      "SELECT 1");
  ASSERT_EQ(statements.size(), 3u);
  EXPECT_NE(statements[0].find("CREATE TABLE a (x TEXT DEFAULT 'x;y')"), std::string::npos);
  EXPECT_EQ(statements[0].find("comment"), std::string::npos);
  EXPECT_NE(statements[1].find("INSERT INTO `we;ird` VALUES (\"q;\", 'it''s; fine')"), std::string::npos);
  EXPECT_EQ(statements[1].find("block"), std::string::npos);
  EXPECT_NE(statements[2].find("SELECT 1"), std::string::npos);
}

TEST(SplitSqlStatementsTest, BackslashEscapedQuoteDoesNotEndTheString) {
  const std::vector<std::string> statements = SplitSqlStatements("SELECT 'a\\';b'; SELECT 2;");
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_NE(statements[0].find("'a\\';b'"), std::string::npos);
}

TEST(SplitSqlStatementsTest, EmptyAndCommentOnlyScriptsHaveNoStatements) {
  EXPECT_TRUE(SplitSqlStatements("").empty());
  EXPECT_TRUE(SplitSqlStatements("-- only a comment\n  \n/* and another */").empty());
}

TEST(SplitSqlStatementsTest, MysqlInitialMigrationSplitsIntoOneStatementPerTable) {
  const std::vector<EmbeddedMigration> mysql = MigrationsFor("mysql");
  ASSERT_FALSE(mysql.empty());
  const std::vector<std::string> statements = SplitSqlStatements(mysql.front().sql);
  ASSERT_EQ(statements.size(), 5u);  // meta, responses, response_answers, population_cells, index_results
  for (const std::string& s : statements) EXPECT_NE(s.find("CREATE TABLE IF NOT EXISTS"), std::string::npos) << s;
}

}  // namespace
}  // namespace minyi::sql::internal
