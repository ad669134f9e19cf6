// The WeChat importer against the real revision stores (core/revisions.h) on every backend: SQLite in
// memory, SQLite in a file and a private MariaDB (started once for this binary).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collector/wechat/wechat_import.h"
#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace minyi::collector::wechat {
namespace {

using testsupport::StoreBackend;

const std::string kFixtures = std::string(MINYI_SOURCE_DIR) + "/tests/fixtures/wechat/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class WechatStoreTest : public testsupport::FreshStoreTest {
 protected:
  void SetUp() override {
    auto areas = AreaRegistry::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/data");
    ASSERT_TRUE(areas.ok()) << areas.status();
    areas_ = std::make_unique<AreaRegistry>(std::move(areas).value());
    auto surveys = SurveyCatalog::LoadDirectory(std::string(MINYI_SOURCE_DIR) + "/conf/surveys");
    ASSERT_TRUE(surveys.ok()) << surveys.status();
    survey_ = surveys->Find("jiangsu-safety");
    ASSERT_NE(survey_, nullptr);
    auto keyer = RespondentKeyer::Create("test-secret-0123456789");
    ASSERT_TRUE(keyer.ok());
    keyer_ = std::make_unique<RespondentKeyer>(std::move(keyer).value());
    FreshStoreTest::SetUp();
  }

  // Imports the exports (name → content) into the store; returns the report.
  WechatReport Import(const std::vector<std::pair<std::string, std::string>>& files,
                      const std::string& grid_worker) {
    WechatImportOptions o;
    o.period = Period{2024, 0};
    o.town_code = "320812007";
    o.grid_workers = {grid_worker};
    auto importer = WechatImporter::Create(*survey_, *areas_, *keyer_, o);
    EXPECT_TRUE(importer.ok()) << importer.status();
    if (!importer.ok()) return {};
    for (const auto& [name, content] : files) {
      std::istringstream in(content);
      const Status added = (*importer)->AddFile(name, in);
      EXPECT_TRUE(added.ok()) << added;
    }
    const Status stored = (*importer)->Store(*store_, 1700000000000);
    EXPECT_TRUE(stored.ok()) << stored;
    return (*importer)->report();
  }

  // The current responses of the survey, by source_ref.
  std::map<std::string, Response> Stored() {
    return testsupport::StoredBySourceRef(*store_, "jiangsu-safety", true);
  }

  std::string Ref(const std::string& key_input) const {
    return TownSlot("wechat:jiangsu-safety:2024:" + keyer_->KeyFor(key_input), "320812007");
  }

  std::unique_ptr<AreaRegistry> areas_;
  std::shared_ptr<const SurveyDefinition> survey_;
  std::unique_ptr<RespondentKeyer> keyer_;
};

// WeChatMsg TXT (members keyed by group and display name): the same export again adds nothing; an
// export that goes on (赵六 now also answers security) revises that member's response, the earlier
// version logged.
TEST_P(WechatStoreTest, ReimportAddsNothingAndALaterAnswerIsARevision) {
  const std::string txt = ReadFile(kFixtures + "wechatmsg.txt");
  const WechatReport first = Import({{"wechatmsg.txt", txt}}, "网格员_小王");
  EXPECT_EQ(first.stored, 3u);
  const WechatReport again = Import({{"wechatmsg.txt", txt}}, "网格员_小王");
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 3u);
  EXPECT_EQ(again.revisions, 0u);

  const WechatReport later =
      Import({{"wechatmsg.txt", txt + "2024-05-12 09:40:00 赵六\n基本安全\n\n"}}, "网格员_小王");
  EXPECT_EQ(later.revisions, 1u);
  EXPECT_EQ(later.duplicates, 2u);
  const std::string ref = Ref("wechat-name:wechatmsg\n赵六");
  const auto stored = Stored();
  EXPECT_EQ(stored.size(), 3u);
  ASSERT_EQ(stored.count(ref), 1u);
  EXPECT_EQ(stored.at(ref).answers, (Answers{{"grid", {"1"}}, {"security", {"3"}}}));
  EXPECT_EQ(stored.at(ref).completion, Completion::kComplete);
  EXPECT_EQ(stored.at(ref).channel, Channel::kWechat);
  EXPECT_EQ(stored.at(ref).town_code, "320812007");
  EXPECT_NE(stored.at(ref).raw_payload.find("\"key_basis\":\"group+name\""), std::string::npos);
  auto log = store_->RevisionLog(Channel::kWechat, ref);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].action, "revised");
  EXPECT_EQ((*log)[0].reason, "later answer in chat");
}

// WeChatMsg CSV (members keyed by wxid, a 接龙 list among the answers) and PyWxDump pages read together:
// stored once, nothing added the second time.
TEST_P(WechatStoreTest, CsvExportsTwiceAddNothing) {
  const WechatReport first =
      Import({{"wechatmsg.csv", ReadFile(kFixtures + "wechatmsg.csv")}}, "wxid_grid01");
  EXPECT_EQ(first.stored, 5u);
  const WechatReport again =
      Import({{"wechatmsg.csv", ReadFile(kFixtures + "wechatmsg.csv")}}, "wxid_grid01");
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 5u);
  const std::vector<std::pair<std::string, std::string>> pages = {
      {"pywxdump_1.csv", ReadFile(kFixtures + "pywxdump_1.csv")},
      {"pywxdump_2.csv", ReadFile(kFixtures + "pywxdump_2.csv")}};
  const WechatReport paged = Import(pages, "wxid_grid02");
  EXPECT_GT(paged.stored, 0u);
  const WechatReport paged_again = Import(pages, "wxid_grid02");
  EXPECT_EQ(paged_again.stored, 0u);
  EXPECT_EQ(paged_again.revisions, 0u);
  EXPECT_EQ(paged_again.duplicates, paged.stored);
  EXPECT_EQ(Stored().size(), first.stored + paged.stored);
  EXPECT_EQ(Stored().count(Ref("wechat-wxid:wxid_grid01")), 0u);  // the grid worker is no respondent
}

INSTANTIATE_TEST_SUITE_P(Backends, WechatStoreTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::collector::wechat
