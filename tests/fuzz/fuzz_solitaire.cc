// 接龙 lists (collector/wechat/solitaire.h), the XML fragments of app messages (XmlTagText) and
// export time stamps (ParseLocalTime) on their own: short texts reach the corner cases faster than
// through a whole chat export.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/wechat/chat_reader.h"
#include "collector/wechat/solitaire.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace wechat = minyi::collector::wechat;
  const auto text = minyi::fuzz::AsText(data, size);
  const auto list = wechat::ParseSolitaire(text);
  for (const std::string& entry : list.entries) (void)wechat::EntryLocation(entry);
  (void)wechat::XmlTagText(text, "title");
  (void)wechat::XmlTagText(text, "solitaire_info");
  (void)wechat::ParseLocalTime(text, 480);
  return 0;
}
