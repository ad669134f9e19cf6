// Frozen releases (core/release_ports.h, migration 007) on every backend: building is invisible,
// revisions are numbered per (survey, period), a second revision needs a reason, frozen releases
// never change, the manifest pages in (town, id) order.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

using testsupport::StoreBackend;

class ReleasesStoreTest : public testsupport::FreshStoreTest {
 protected:
  static ReleaseRecord Draft(const std::string& reason = "") {
    ReleaseRecord r;
    r.survey_id = "jiangsu-safety";
    r.period = {2025, 0};
    r.reason = reason;
    r.created_by = "cli:tester";
    r.frozen_at_ms = 1750000000000LL;
    r.definition_version = "2025.1";
    r.code_version = "0.1.0";
    r.population_version = "abcdef0123456789";
    return r;
  }
  static std::string Hash(char c) { return std::string(64, c); }

  // Builds and freezes a release with `entries` responses; returns the revision.
  Result<int> Freeze(const std::string& reason, int entries) {
    ReleaseRecord r = Draft(reason);
    auto id = store_->BeginRelease(r);
    if (!id.ok()) return id.status();
    r.id = id.value();
    std::vector<ManifestEntry> manifest;
    for (int i = 0; i < entries; ++i) {
      manifest.push_back({i % 2 ? "320812002" : "320812001", 1000 - i, Hash('a')});
    }
    MINYI_RETURN_IF_ERROR(store_->AppendManifest(r.id, manifest));
    r.response_count = entries;
    r.manifest_hash = Hash('b');
    r.content_hash = Hash('c');
    r.id_salt = Hash('d');
    r.population_text = "2025\t320812001\t\t\t5000\n";
    r.indices_text = std::string(70000, 'x') + "\n";  // large texts (LONGTEXT on MySQL)
    return store_->FinishRelease(r);
  }

};

TEST_P(ReleasesStoreTest, RevisionsAreNumberedAndListed) {
  auto r1 = Freeze("", 3);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1.value(), 1);
  auto no_reason = Freeze("", 4);
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.status().code(), StatusCode::kInvalidInput);
  auto r2 = Freeze("late responses", 4);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2.value(), 2);

  auto list = store_->ListReleases("jiangsu-safety");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2U);  // the refused attempt stays building: never listed
  EXPECT_EQ((*list)[0].Label(), "R1");
  EXPECT_EQ((*list)[1].Label(), "R2");
  EXPECT_EQ((*list)[1].reason, "late responses");
  EXPECT_EQ((*list)[1].response_count, 4);
  EXPECT_TRUE((*list)[0].indices_text.empty());  // lists leave the texts out
  EXPECT_TRUE(store_->ListReleases("other").value().empty());
  EXPECT_EQ(store_->ListReleases("").value().size(), 2U);

  auto latest = store_->FindRelease("jiangsu-safety", {2025, 0}, 0);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->revision, 2);
  auto first = store_->FindRelease("jiangsu-safety", {2025, 0}, 1);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->response_count, 3);
  EXPECT_EQ((*first)->indices_text.size(), 70001U);
  EXPECT_EQ((*first)->population_text, "2025\t320812001\t\t\t5000\n");
  EXPECT_EQ((*first)->id_salt, Hash('d'));
  EXPECT_EQ((*first)->created_by, "cli:tester");
  EXPECT_EQ((*first)->frozen_at_ms, 1750000000000LL);
  EXPECT_FALSE(store_->FindRelease("jiangsu-safety", {2024, 0}, 0).value().has_value());
  EXPECT_FALSE(store_->FindRelease("jiangsu-safety", {2025, 0}, 3).value().has_value());
}

TEST_P(ReleasesStoreTest, FrozenReleasesNeverChange) {
  ReleaseRecord r = Draft();
  auto id = store_->BeginRelease(r);
  ASSERT_TRUE(id.ok()) << id.status();
  r.id = id.value();
  ASSERT_TRUE(store_->AppendManifest(r.id, {{"320812001", 5, Hash('a')}}).ok());
  r.response_count = 2;  // wrong count
  EXPECT_EQ(store_->FinishRelease(r).status().code(), StatusCode::kInvalidInput);
  r.response_count = 1;
  ASSERT_TRUE(store_->FinishRelease(r).ok());
  EXPECT_EQ(store_->FinishRelease(r).status().code(), StatusCode::kConflict);
  EXPECT_EQ(store_->AppendManifest(r.id, {{"320812001", 6, Hash('a')}}).code(), StatusCode::kConflict);
  EXPECT_EQ(store_->AbandonRelease(r.id).code(), StatusCode::kConflict);
  auto page = store_->ManifestPage(r.id, {}, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 1U);
}

TEST_P(ReleasesStoreTest, AbandonedReleasesLeaveNothing) {
  ReleaseRecord r = Draft();
  auto id = store_->BeginRelease(r);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store_->AppendManifest(id.value(), {{"320812001", 5, Hash('a')}}).ok());
  EXPECT_EQ(store_->AppendManifest(id.value(), {{"320812001", 5, Hash('a')}}).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(store_->AppendManifest(id.value(), {{"320812001", 6, "not-a-hash"}}).code(), StatusCode::kInvalidInput);
  ASSERT_TRUE(store_->AbandonRelease(id.value()).ok());
  EXPECT_TRUE(store_->AbandonRelease(id.value()).ok());
  EXPECT_TRUE(store_->ManifestPage(id.value(), {}, 10).value().empty());
  EXPECT_TRUE(store_->ListReleases("").value().empty());
  // An abandoned build does not take a revision number.
  auto r1 = Freeze("", 1);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1.value(), 1);
}

TEST_P(ReleasesStoreTest, ManifestPagesInTownAndIdOrder) {
  ReleaseRecord r = Draft();
  auto id = store_->BeginRelease(r);
  ASSERT_TRUE(id.ok());
  std::vector<ManifestEntry> entries;
  for (int i = 0; i < 450; ++i) entries.push_back({i % 3 == 0 ? "320812003" : "320812001", 10000 - i, Hash('e')});
  ASSERT_TRUE(store_->AppendManifest(id.value(), entries).ok());
  std::vector<ManifestEntry> all;
  ManifestKey after;
  for (;;) {
    auto page = store_->ManifestPage(id.value(), after, 100);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    EXPECT_LE(page->size(), 100U);
    all.insert(all.end(), page->begin(), page->end());
    after = {page->back().town_code, page->back().response_id};
  }
  ASSERT_EQ(all.size(), 450U);
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(std::tie(all[i - 1].town_code, all[i - 1].response_id), std::tie(all[i].town_code, all[i].response_id));
  }
  EXPECT_EQ(all.front().town_code, "320812001");
  EXPECT_EQ(all.back().town_code, "320812003");
  EXPECT_EQ(all.front().content_hash, Hash('e'));
}

INSTANTIATE_TEST_SUITE_P(Backends, ReleasesStoreTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::sql
