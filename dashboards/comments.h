// Residents' comments on the dashboards: masking of personal data before display, and keyword-topic
// counts from a dictionary (conf/topics.json).
//
// Masking is a heuristic, not a guarantee (README "Dashboards"): it hides digit runs of 7 or more
// digits (phone numbers, 18-character ID-card numbers with a final X, house-number strings), also in
// full-width digits and with - or spaces between groups, e-mail addresses, the 2-3 characters after
// 我叫 / 姓名 / 名字叫 / 联系人 / 本人, and the surname before 先生 / 女士 / 阿姨 / 师傅. Names
// mentioned any other way ("王建国说...") are NOT recognized.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace minyi::dashboards {

// The masked text; valid UTF-8 in, valid UTF-8 out.
std::string MaskPersonalInfo(std::string_view text);

struct Topic {
  std::string name;                   // "夜间照明"
  std::vector<std::string> keywords;  // any of them in a comment counts it once for the topic
};

class TopicDictionary {
 public:
  // {"topics": [{"name": "...", "keywords": ["...", ...]}, ...]}. kInvalidInput names the JSON path of
  // a bad entry (empty name, no keywords, duplicate name).
  static Result<TopicDictionary> Parse(std::string_view json);
  static Result<TopicDictionary> LoadFile(const std::string& path);

  const std::vector<Topic>& topics() const { return topics_; }
  // Indexes into topics() of the topics `text` mentions, in dictionary order.
  std::vector<std::size_t> Match(std::string_view text) const;

 private:
  std::vector<Topic> topics_;
};

}  // namespace minyi::dashboards
