#include "dashboards/comments.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Exception.h>

#include <fstream>
#include <set>
#include <sstream>

namespace minyi::dashboards {

Result<TopicDictionary> TopicDictionary::Parse(std::string_view json) {
  TopicDictionary dict;
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
    auto topics = root->getArray("topics");
    if (!topics) return Status::InvalidInput("topics: an array is required");
    std::set<std::string> names;
    for (unsigned i = 0; i < topics->size(); ++i) {
      const std::string where = "topics[" + std::to_string(i) + "]";
      auto obj = topics->getObject(i);
      if (!obj) return Status::InvalidInput(where + ": an object is required");
      Topic topic;
      topic.name = obj->optValue<std::string>("name", "");
      if (topic.name.empty()) return Status::InvalidInput(where + ".name: required");
      if (!names.insert(topic.name).second) return Status::InvalidInput(where + ".name: duplicate '" + topic.name + "'");
      auto keywords = obj->getArray("keywords");
      if (!keywords || keywords->size() == 0) return Status::InvalidInput(where + ".keywords: at least one required");
      for (unsigned k = 0; k < keywords->size(); ++k) {
        std::string word = keywords->getElement<std::string>(k);
        if (word.empty()) {
          return Status::InvalidInput(where + ".keywords[" + std::to_string(k) + "]: empty keyword");
        }
        topic.keywords.push_back(std::move(word));
      }
      dict.topics_.push_back(std::move(topic));
    }
  } catch (const Poco::Exception& e) {
    return Status::InvalidInput("topics: " + e.displayText());
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("topics: ") + e.what());
  }
  return dict;
}

Result<TopicDictionary> TopicDictionary::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("topic dictionary " + path + " not found");
  std::ostringstream buf;
  buf << in.rdbuf();
  auto parsed = Parse(buf.str());
  if (!parsed.ok()) return parsed.status().WithContext(path);
  return parsed;
}

std::vector<std::size_t> TopicDictionary::Match(std::string_view text) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < topics_.size(); ++i) {
    for (const std::string& k : topics_[i].keywords) {
      if (text.find(k) != std::string_view::npos) {
        out.push_back(i);
        break;
      }
    }
  }
  return out;
}

}  // namespace minyi::dashboards
