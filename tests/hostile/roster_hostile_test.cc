// Hostile input catalogue: SMS roster files (`minyi sms roster`, SmsService::ImportRoster) into a
// SQLite store. The hostile line (line 3) sits between two valid entries; both are stored (and found
// in the store), and the report names line 3 with its reason, never a phone number in plain text.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "collector/fake_store_for_test.h"
#include "collector/sms/sms_service.h"
#include "sql/sms_store.h"
#include "sql/store.h"
#include "tests/hostile/hostile_support.h"

namespace minyi::hostile {
namespace {

namespace sms = collector::sms;

class RosterHostileBase {
 protected:
  void Open() {
    sql::StoreOptions o;
    o.sqlite.path = ":memory:";
    auto store = sql::OpenStore(o);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    auto sms_store = sql::OpenSmsStore(*store_);
    ASSERT_TRUE(sms_store.ok()) << sms_store.status();
    sms_ = std::move(sms_store).value();
    keyer_ = std::make_unique<collector::RespondentKeyer>(
        collector::RespondentKeyer::Create("hostile-roster-secret-0123").value());
    std::array<unsigned char, 32> key{};
    key.fill(7);
    cipher_ = std::make_unique<sms::PhoneCipher>(sms::PhoneCipher::FromKey(key));
    sms::SmsService::Deps deps;
    deps.sms = sms_.get();
    deps.responses = &responses_;
    deps.surveys = &fuzz::Surveys();
    deps.areas = &fuzz::Areas();
    deps.keyer = keyer_.get();
    deps.cipher = cipher_.get();
    service_ = std::make_unique<sms::SmsService>(deps, sms::SmsServiceOptions{});
  }
  Result<sms::SmsService::RosterReport> Import(const std::string& text) {
    std::istringstream in(text);
    return service_->ImportRoster(in, "jiangsu-safety");
  }
  std::size_t Entries() { return sms_->RosterEntries("jiangsu-safety", "").value().size(); }

  std::unique_ptr<sql::Store> store_;
  std::unique_ptr<SmsStore> sms_;
  collector::FakeStore responses_;
  std::unique_ptr<collector::RespondentKeyer> keyer_;
  std::unique_ptr<sms::PhoneCipher> cipher_;
  std::unique_ptr<sms::SmsService> service_;
};

std::vector<Case> Cases() {
  return {
      {"phone too short", "1381234567,320102002", "is not a valid phone number"},
      {"phone too long", "138123456789,320102002", "is not a valid phone number"},
      {"phone letters", "1381234567x,320102002", "is not a valid phone number"},
      {"phone empty", ",320102002", "is not a valid phone number"},
      {"phone overlong", std::string(5000, '1') + ",320102002", "is not a valid phone number"},
      {"phone NaN", "NaN,320102002", "is not a valid phone number"},
      {"phone exponent", "1.3812345678e10,320102002", "is not a valid phone number"},

      {"phone formula @", "@SUM(1),320102002", "is not a valid phone number"},
      {"phone SQL", "13812345670' OR 1=1 --,320102002", "is not a valid phone number"},
      {"phone script", "<script>alert(1)</script>,320102002", "is not a valid phone number"},
      {"phone NUL",
       std::string("138\0"
                   "12345670,320102002",
                   19),
       "is not a valid phone number"},
      {"phone escape sequence", "\x1b[31m13812345670,320102002", "is not a valid phone number"},
      {"phone invalid UTF-8", "\xff\xfe,320102002", "is not a valid phone number"},
      {"phone GBK", "\xca\xd6\xbb\xfa,320102002", "is not a valid phone number"},
      {"phone unassigned prefix", "12012345678,320102002", "is not a valid phone number"},
      {"phone landline fragment", "010,320102002", "is not a valid phone number"},
      {"phone foreign invalid", "+1 555,320102002", "is not a valid phone number"},
      {"phone only spaces", "   ,320102002", "is not a valid phone number"},
      {"town unknown", "13812345670,320102999", "town '320102999' is not a known town"},
      {"town empty", "13812345670,", "is not a known town"},
      {"town city code", "13812345670,3201", "is not a known town"},
      {"town province code", "13812345670,32", "is not a known town"},
      {"town letters", "13812345670,abc", "is not a known town"},
      {"town SQL", "13812345670,320102002' --", "is not a known town"},
      {"town script", "13812345670,<script>", "is not a known town"},
      {"town NUL",
       std::string("13812345670,320102\0"
                   "002",
                   22),
       "is not a known town"},
      {"town escape sequence", "13812345670,\x1b]0;x\x07", "is not a known town"},
      {"town overlong", "13812345670," + std::string(4000, '9'), "is not a known town"},
      {"town full-width", "13812345670,３２０１０２００２", "is not a known town"},
      {"town invalid UTF-8", "13812345670,\xc3\x28", "is not a known town"},
      {"too few fields", "13812345670", "too few fields"},
      {"unterminated quote", "\"13812345670,320102002", "quote"},
      {"text after closing quote", "\"13812345670\"x,320102002", "quote"},
      {"duplicate phone", "13812345678,320116110", "already on line 2"},
      {"duplicate phone other spelling", "+86 138-1234-5678,320102002", "already on line 2"},
      // Valid after all: the number is read past leading punctuation (a spreadsheet's "=" or "-"),
      // and only its E.164 form is kept (encrypted), never the text as written.
      {"phone formula", "=13812345670,320102002", ""},
      {"phone leading minus", "-13812345670,320102002", ""},
      {"phone +86", "+8613812345670,320102002", ""},
      {"phone 0086", "008613812345670,320102002", ""},
      {"phone with dashes", "138-1234-5670,320102002", ""},
      {"phone with spaces around", "  13812345670  ,  320102002  ", ""},
      {"phone full-width digits", "１３８１２３４５６７０,320102002", ""},
      {"county code (the town is asked)", "13812345670,320102", ""},
      {"extra column", "13812345670,320102002,note", ""},
      {"quoted fields", "\"13812345670\",\"320102002\"", ""},
  };
}

class RosterHostile : public RosterHostileBase, public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { Open(); }
};

TEST_P(RosterHostile, ReportsTheLineAndKeepsTheValidEntries) {
  const Case& c = GetParam();
  auto report = Import("phone,town\n13812345678,320102002\n" + c.input + "\n13912345678,320803001\n");
  ASSERT_TRUE(report.ok()) << report.status();
  if (c.expect.empty()) {
    EXPECT_TRUE(report->rejected.empty()) << report->rejected[0];
    EXPECT_EQ(report->stored, 3);
    EXPECT_EQ(Entries(), 3u);
    return;
  }
  EXPECT_EQ(report->stored, 2);
  ASSERT_EQ(report->rejected.size(), 1u);
  EXPECT_EQ(report->rejected[0].rfind("line 3: ", 0), 0u) << report->rejected[0];
  EXPECT_NE(report->rejected[0].find(c.expect), std::string::npos) << report->rejected[0];
  EXPECT_FALSE(std::regex_search(report->rejected[0], std::regex("1[3-9][0-9]{9}"))) << report->rejected[0];
  if (c.name.rfind("duplicate", 0) == 0) {
    // The first entry of the number stays as it was.
    EXPECT_EQ(sms_->FindRosterEntry("jiangsu-safety", keyer_->KeyFor("+8613812345678")).value()->area_code,
              "320102002");
  }
  EXPECT_EQ(Entries(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, RosterHostile, ::testing::ValuesIn(Cases()), CaseName<Case>);

struct FileCase {
  std::string name;
  std::string text;
  std::string header_error;
  int stored = 0;
};

class RosterFileHostile : public RosterHostileBase, public ::testing::TestWithParam<FileCase> {
 protected:
  void SetUp() override { Open(); }
};

TEST_P(RosterFileHostile, AnswersAsExpected) {
  const FileCase& c = GetParam();
  auto report = Import(c.text);
  if (!c.header_error.empty()) {
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find(c.header_error), std::string::npos) << report.status();
    EXPECT_EQ(Entries(), 0u);
    return;
  }
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->stored, c.stored);
  EXPECT_EQ(Entries(), static_cast<std::size_t>(c.stored));
}

std::vector<FileCase> FileCases() {
  std::string many = "phone,town\n";
  for (int i = 0; i < 3000; ++i) many += "139" + std::to_string(10000000 + i) + ",320102002\n";
  return {
      {"zero bytes", "", "missing header line", 0},
      {"header without town", "phone\n13812345678\n", "phone and town", 0},
      {"header GBK", "\xca\xd6\xbb\xfa,town\n", "phone and town", 0},
      {"UTF-8 BOM", "\xEF\xBB\xBFphone,town\n13812345678,320102002\n", "", 1},
      {"Chinese header", "手机号码,乡镇代码\n13812345678,320102002\n", "", 1},
      {"CRLF", "phone,town\r\n13812345678,320102002\r\n13912345678,320803001\r\n", "", 2},
      {"blank lines", "phone,town\n\n13812345678,320102002\n\n", "", 1},
      {"3000 entries", many, "", 3000},
  };
}

INSTANTIATE_TEST_SUITE_P(Catalogue, RosterFileHostile, ::testing::ValuesIn(FileCases()), CaseName<FileCase>);

}  // namespace
}  // namespace minyi::hostile
