// WeChat chat exports as `minyi import wechat` reads them: the text decoder
// (collector/wechat/text_decoder.h: BOM, UTF-8, GB18030, UTF-16), format detection and every message
// of the reader (collector/wechat/chat_reader.h), then the 接龙 list of each message. When the format
// is not recognized, the first byte picks one of the five readers, so that every layout's reader sees
// arbitrary text.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collector/wechat/chat_reader.h"
#include "collector/wechat/solitaire.h"
#include "collector/wechat/text_decoder.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace wechat = minyi::collector::wechat;
  if (size == 0) return 0;
  const std::uint8_t choice = data[0];
  std::istringstream raw(std::string(minyi::fuzz::AsText(data + 1, size - 1)));
  wechat::DecodingStreamBuf buf(raw);
  if (!buf.Open().ok()) return 0;
  auto detected = wechat::DetectFormat(buf.Head());
  const wechat::ChatFormat format =
      detected.ok() ? detected.value() : static_cast<wechat::ChatFormat>(choice % 5);
  std::istream text(&buf);
  wechat::ReaderOptions options;
  options.max_message_bytes = 4096;
  std::unique_ptr<wechat::ChatReader> reader = wechat::MakeReader(format, text, options);
  wechat::ChatMessage message;
  std::vector<wechat::ReaderIssue> issues;
  std::size_t messages = 0;
  while (reader->Next(&message, &issues)) {
    if (++messages > size) __builtin_trap();  // more messages than bytes: the reader loops
    if (message.kind == wechat::MessageKind::kSolitaire || (choice & 0x80) != 0) {
      const auto list = wechat::ParseSolitaire(message.text);
      for (const std::string& entry : list.entries) (void)wechat::EntryLocation(entry);
    }
    (void)wechat::ParseLocalTime(message.local_time, options.utc_offset_minutes);
    (void)wechat::IsMediaPlaceholder(message.text);
    (void)wechat::IsRecallNotice(message.text);
    issues.clear();
  }
  return 0;
}
