// Residents' comments on the dashboards: keyword-topic counts from a dictionary (conf/topics.json).
// Masking of personal data before display is MaskPersonalInfo (core/privacy.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace minyi::dashboards {

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
