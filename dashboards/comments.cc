#include "dashboards/comments.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Exception.h>

#include <fstream>
#include <set>
#include <sstream>

namespace minyi::dashboards {
namespace {

constexpr std::string_view kMasked = "[已隐去]";
constexpr std::string_view kSomeone = "某某";

// Length in bytes of the UTF-8 sequence starting with `lead` (1 for invalid bytes).
std::size_t SeqLen(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

// A digit (ASCII or full-width ０-９ = EF BC 90..99) at `i`: its byte length, else 0.
std::size_t DigitAt(std::string_view t, std::size_t i) {
  const auto c = static_cast<unsigned char>(t[i]);
  if (c >= '0' && c <= '9') return 1;
  if (c == 0xEF && i + 2 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0xBC) {
    const auto d = static_cast<unsigned char>(t[i + 2]);
    if (d >= 0x90 && d <= 0x99) return 3;
  }
  return 0;
}

// A CJK unified ideograph (U+4E00..U+9FFF) at `i`: 3, else 0.
std::size_t HanAt(std::string_view t, std::size_t i) {
  if (i + 3 > t.size()) return 0;
  const auto c = static_cast<unsigned char>(t[i]);
  if (c < 0xE4 || c > 0xE9) return 0;
  return SeqLen(c) == 3 ? 3 : 0;
}

bool StartsWith(std::string_view t, std::size_t i, std::string_view p) { return t.substr(i, p.size()) == p; }

bool EmailChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '+';
}

// Pass 1: digit runs and e-mail addresses.
std::string MaskNumbers(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  std::size_t i = 0;
  while (i < t.size()) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (EmailChar(static_cast<char>(c)) && c < 0x80) {
      // An e-mail address: local@domain.tld
      std::size_t j = i;
      while (j < t.size() && EmailChar(t[j])) ++j;
      if (j < t.size() && t[j] == '@') {
        std::size_t k = j + 1;
        while (k < t.size() && EmailChar(t[k])) ++k;
        if (k > j + 1 && t.substr(j + 1, k - j - 1).find('.') != std::string_view::npos) {
          out += kMasked;
          i = k;
          continue;
        }
      }
    }
    if (DigitAt(t, i) != 0) {
      std::size_t j = i;
      std::size_t digits = 0;
      std::size_t end = i;  // just past the last digit (or X) of the run
      while (j < t.size()) {
        const std::size_t d = DigitAt(t, j);
        if (d != 0) {
          j += d;
          ++digits;
          end = j;
        } else if ((t[j] == '-' || t[j] == ' ') && j + 1 < t.size() && DigitAt(t, j + 1) != 0) {
          ++j;
        } else if ((t[j] == 'X' || t[j] == 'x') && digits == 17) {
          ++j;
          end = j;
          ++digits;
          break;
        } else {
          break;
        }
      }
      if (digits >= 7) {
        out += kMasked;
      } else {
        out.append(t.substr(i, end - i));
      }
      i = end;
      continue;
    }
    const std::size_t len = std::min(SeqLen(c), t.size() - i);
    out.append(t.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

std::string MaskPersonalInfo(std::string_view text) {
  const std::string numbers_masked = MaskNumbers(text);
  std::string_view t = numbers_masked;
  static const std::vector<std::string_view> kBefore = {"我叫", "姓名", "名字叫", "名字是", "联系人", "本人"};
  static const std::vector<std::string_view> kAfter = {"先生", "女士", "阿姨", "师傅", "大爷", "大妈"};
  std::string out;
  out.reserve(t.size());
  std::size_t i = 0;
  while (i < t.size()) {
    bool matched = false;
    for (std::string_view cue : kBefore) {
      if (!StartsWith(t, i, cue)) continue;
      out.append(cue);
      std::size_t j = i + cue.size();
      // Optional separator: ':' '：' or spaces.
      while (j < t.size() && (t[j] == ':' || t[j] == ' ')) out += t[j++];
      if (StartsWith(t, j, "：")) {
        out += "：";
        j += 3;
      }
      std::size_t names = 0;
      while (names < 3 && j < t.size() && HanAt(t, j) != 0) {
        j += 3;
        ++names;
      }
      if (names > 0) out += kSomeone;
      i = j;
      matched = true;
      break;
    }
    if (matched) continue;
    // A surname right before a title: "张先生" -> "某先生".
    if (HanAt(t, i) != 0) {
      bool title = false;
      for (std::string_view cue : kAfter) title = title || StartsWith(t, i + 3, cue);
      if (title) {
        out += "某";
        i += 3;
        continue;
      }
    }
    const std::size_t len = std::min(SeqLen(static_cast<unsigned char>(t[i])), t.size() - i);
    out.append(t.substr(i, len));
    i += len;
  }
  return out;
}

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
