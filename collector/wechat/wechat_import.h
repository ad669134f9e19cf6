// The WeChat-group importer (issue 5, docs/channels.md §3.8): reads chat exports, finds the survey's prompts
// and the members' answers, and stores one response per member, survey and period as a revisable
// slot (core/revisions.h).
//
// How answers are found (the survey's `wechat` section, conf/README.md):
//  - a prompt is a text message by a known grid worker (options, or the group map's grid_workers
//    column) containing one of a prompt's markers; it asks that prompt's questions;
//  - a member's text reply after a prompt of the same group, within reply_window_minutes, is read with
//    the SMS reply parser (collector/common/reply_parser.h); a quote reply counts for the prompt it
//    quotes, whichever name of the grid worker its header uses (QuotesPromptSender) and whichever part
//    of the prompt it keeps (QuoteText); replies quoting anything else are not answers;
//  - 接龙 lists whose topic contains a marker and that a grid worker started: the union by person of
//    every snapshot, forks included (the wxid from solitaire_info, else the sender of the snapshot
//    that added or changed the entry); a snapshot lacking an entry erases nothing, only the member's
//    own newer words revise it; numbering and positions are ignored (MergeByAuthor, MergeByPoster);
//  - recalls, system notices, media placeholders and the grid workers' own messages are never
//    answers; an opt-out word is not an answer.
// Per member and question the latest answer counts; a member's answers form one response with
// source_ref "wechat:<survey>:<period>:<respondent key>@<town>" (core/revisions.h TownSlot: the town is
// part of the identity, so an import never changes another town's response). The respondent key is the keyed
// hash (RespondentKeyer) of "wechat-wxid:<wxid>" when the export has the wxid, else of
// "wechat-name:<group>\n<display name>" — weaker (display names change and repeat), flagged as
// "key_basis":"group+name" in the raw payload and counted in the report.
//
// Messages must be in time order within a file (every exporter writes them so); files may come in
// any order when the caller sorts them with FirstMessageTime. Memory grows with the number of
// members, prompts and 接龙 entries, never with the number of messages or the file size.
//
// Not thread-safe; one importer per import. With WechatImportOptions::read_ahead_batches >= 2, AddFile
// reads each file on a thread of its own (read_ahead.h), joined before it returns or throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collector/common/crypto.h"
#include "collector/common/reply_parser.h"
#include "collector/wechat/chat_reader.h"
#include "collector/wechat/solitaire.h"
#include "core/areas.h"
#include "core/collector_counters.h"
#include "core/progress.h"
#include "core/response.h"
#include "core/revisions.h"
#include "core/status.h"
#include "core/survey.h"

namespace minyi::collector::wechat {

// Group → town (and the group's grid workers), from a CSV with a header:
//   group,town[,grid_workers]      group = the group's name or its room id ("…@chatroom");
//                                  grid_workers = display names or wxids separated by '|' or ';'.
class GroupMap {
 public:
  struct Entry {
    std::string town_code;
    std::vector<std::string> grid_workers;
  };
  // kInvalidInput listing every bad line (unknown town, missing columns, a group given twice).
  static Result<GroupMap> Parse(std::istream& csv, const AreaRegistry& areas);
  void Add(const std::string& group, Entry entry) { entries_[group] = std::move(entry); }
  // By room id first, then by name; null when neither is mapped.
  const Entry* Find(const std::string& room_id, const std::string& group_name) const;
  // Every town code in the map (for scope checks).
  std::set<std::string> Towns() const;
  std::size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, Entry> entries_;
};

struct WechatImportOptions {
  std::string survey_id;
  Period period;
  std::string town_code;                  // every group's town; or
  const GroupMap* group_map = nullptr;    // per group (not owned)
  std::vector<std::string> grid_workers;  // display names or wxids, in every group
  std::string group;                      // the group of exports that do not name it (WeChatMsg TXT);
                                          // empty: the file's name without directory and extension
  int utc_offset_minutes = 480;
  std::size_t max_issues = 500;                 // issues listed (the rest are counted)
  std::size_t batch = 500;                      // responses per StoreRevisions call
  std::string reason = "later answer in chat";  // recorded with each revision
  // Reading (decoding, framing messages) runs on a thread of its own, ahead of recognition on the
  // caller's, with at most this many batches of this many messages between them (read_ahead.h: the
  // memory bound); below 2 batches, everything runs on the caller's thread. Same results either way.
  // Off by default: on the 2-vCPU bench machine, quiet, two alternating runs of each mode over the five
  // layouts (bench/RESULTS.md "Issue 16 on a quiet machine"), the reading thread was 0-10 % slower in wall
  // time and took 1.5-1.8x the CPU time; a server importing uploads beside its requests wants the CPU.
  std::size_t read_ahead_batches = 0;
  std::size_t read_ahead_messages = 512;
  // (responses stored, responses in all) after every batch of Store (reading the files is not reported:
  // it holds them in memory and is quick beside the store's transactions); may be empty.
  ProgressCallback progress;
};

// A line the importer did not take as an answer, with why.
struct WechatIssue {
  std::string file;
  std::size_t line = 0;
  std::string category;  // "rejected" (unreadable line), "not_understood" (a reply it could not read),
                         // "ignored" (not an answer, e.g. an opt-out or a quote of another message),
                         // "group" (no town), "file" (whole-file problems: truncated, encoding),
                         // "refused" (a member whose slot holds another town's response: not stored)
  std::string reason;    // English
  std::string text;      // the message text, phone numbers masked, cut to 200 bytes
};

// One file's part of a report. Files read together make one set of responses (a member's answers
// may come from several files); a response counts for the file holding its newest answer (the
// message that made it what it is), so the files' store figures add up to the report's.
struct WechatFileReport {
  std::string name;
  std::string format;    // ChatFormatName
  std::string encoding;  // SourceEncodingName
  std::uint64_t bytes = 0;
  std::size_t messages = 0;
  bool truncated = false;
  std::size_t lines_rejected = 0;        // unreadable lines of this file
  std::size_t answers_without_town = 0;  // answers read in this file from groups without a town
  std::size_t responses_invalid = 0;     // responses counted for this file that the survey rejected
  std::size_t stored = 0, duplicates = 0, revisions = 0, stale = 0;  // of the responses counted for it
  std::size_t refused = 0;  // ReviseOutcome::kRefused: the member's slot holds another town's response
  std::string area;         // the narrowest area holding the towns of those responses ("" when none)
};

struct WechatReport {
  std::vector<WechatFileReport> files;
  std::size_t messages_read = 0;
  std::size_t duplicate_messages = 0;  // prompts and 接龙 snapshots seen before (same server id, or same
                                       // group, time, sender and text), and replies equal to a member's
                                       // current answer (same time and text)
  std::size_t lines_rejected = 0;      // unreadable lines
  std::size_t prompts_found = 0;
  std::size_t prompts_ignored = 0;   // marker found, but not posted by a known grid worker
  std::size_t replies_read = 0;      // member messages read against a prompt (a reply repeated by an
                                     // overlapping export is read again; only answers are deduplicated)
  std::size_t answers_accepted = 0;  // replies and 接龙 entries that gave answers
  std::size_t not_understood = 0;
  std::size_t not_answers = 0;  // recalls, notices, media, opt-outs, quotes of other messages in windows
  std::size_t grid_worker_messages = 0;
  std::size_t solitaire_threads = 0;  // survey 接龙 threads
  std::size_t solitaire_snapshots = 0;
  std::size_t solitaire_entries = 0;  // distinct entries over all snapshots
  std::size_t answers_without_town = 0;
  std::size_t respondents = 0;
  std::size_t weak_keys = 0;          // respondents keyed by (group, display name)
  std::size_t responses_invalid = 0;  // built responses the survey rejected (listed)
  std::size_t stored = 0, duplicates = 0, revisions = 0, stale = 0;
  std::size_t refused = 0;  // members whose slot holds another town's response (listed)
  std::vector<WechatIssue> issues;
  std::size_t issues_dropped = 0;

  // The report as text lines (the CLI's output) and as JSON (the upload's answer).
  std::string ToText() const;
  std::string ToJson() const;
};

// The import-run figures of one file (WechatFileReport: the responses that count for it), for
// CollectorCounters::RecordImportRun: rows read are its messages; a revision counts as stored, a stale
// version as a duplicate; its unreadable lines, the responses the survey or the store refused and its
// answers from groups without a town as rejected.
void SetImportRunFigures(const WechatFileReport& file, ImportRun& run);

class WechatImporter {
 public:
  // Every reference must outlive the importer. kInvalidInput (from Create) when the survey has no
  // `wechat` section, or neither town nor group map is given.
  static Result<std::unique_ptr<WechatImporter>> Create(const SurveyDefinition& survey,
                                                        const AreaRegistry& areas,
                                                        const RespondentKeyer& keyer,
                                                        WechatImportOptions options);

  // Reads one export. `name` names it in the report (a path or the upload's file name). Whole-file
  // problems (empty, binary, unknown format) are returned as kInvalidInput and also listed in the
  // report; everything read before a problem is kept.
  Status AddFile(const std::string& name, std::istream& raw);

  // The responses found so far, one per member (ordered by respondent key).
  std::vector<Response> BuildResponses(std::int64_t received_at_ms);

  // Builds the responses and stores them through `reviser` in batches; fills the store counts of the
  // report and of each file (WechatFileReport).
  Status Store(ResponseReviser& reviser, std::int64_t received_at_ms);

  const WechatReport& report() const { return report_; }

 private:
  struct Prompt {
    std::int64_t time_ms = 0;
    std::string sender_name;
    std::string sender_wxid;
    std::string sender_key;  // NameKey of sender_name
    std::string quote_text;  // NFKC-folded, without white space (QuoteText), for matching quotes
    std::vector<const Question*> questions;
  };
  struct Group {
    std::string key;                  // room id, else name
    std::string display;              // name, else room id
    std::optional<std::string> town;  // nullopt: not mapped
    std::set<std::string> grid_workers;
    std::set<std::string> safe_grid_workers;  // those SafeName changes, as WeChatMsg TXT writes them
    std::set<std::string> grid_worker_keys;   // NameKey of each, for quote headers
    std::vector<Prompt> prompts;              // in time order
  };
  struct Answer {
    std::vector<std::string> values;
    std::int64_t time_ms = 0;
    std::string file;
    std::size_t file_index = 0;  // into report_.files
    std::size_t line = 0;
    std::string text;             // masked
    std::uint64_t text_hash = 0;  // of the unmasked text, for duplicates
  };
  struct Member {
    bool weak = false;
    std::string group;  // display name of the group of the latest answer
    std::string town;
    std::int64_t town_time_ms = -1;
    std::map<std::string, Answer> answers;  // by question code
    std::string location;
    std::int64_t location_time_ms = -1;
  };
  // A member's part in a 接龙 thread: the words that count now (and when they were written) and every
  // text the member had in it.
  struct Participant {
    std::string text;
    std::int64_t time_ms = -1;
    std::set<std::string> texts;
  };
  struct Thread {
    bool survey = false;
    bool counted = false;
    std::vector<const Question*> questions;
    std::unordered_map<std::string, int> seen_counts;  // entry text → most copies in one snapshot
    std::map<std::string, Participant> participants;   // by respondent key
  };

  // The responses and, for each, the index in report_.files of the file it counts for.
  struct Built {
    std::vector<Response> responses;
    std::vector<std::size_t> files;
    std::vector<const Answer*> newest;  // the answer that made each response what it is (in members_)
  };

  WechatImporter(const SurveyDefinition& survey, const AreaRegistry& areas, const RespondentKeyer& keyer,
                 WechatImportOptions options);

  Built Build(std::int64_t received_at_ms);

  Group& GroupOf(const ChatMessage& m, const std::string& file_group);
  bool IsGridWorker(const Group& g, const ChatMessage& m) const;
  // True when a quote reply's header names the prompt's sender by any of the names minyi knows for a
  // grid worker (issue 16): the prompt's sender name or wxid, or any configured grid worker name.
  // `quoted_key` is NameKey(m.quoted_name).
  bool QuotesPromptSender(const Group& g, const ChatMessage& m, const std::string& quoted_key,
                          const Prompt& p) const;
  std::vector<const Question*> MatchPrompt(const std::string& folded) const;
  // True when the message was seen before (counted as a duplicate).
  bool SeenBefore(const Group& g, const ChatMessage& m);
  void Handle(const std::string& file, const std::string& file_group, ChatMessage& m);
  void HandleReply(const std::string& file, Group& g, const ChatMessage& m);
  void HandleSolitaire(const std::string& file, Group& g, const ChatMessage& m);
  // The two ways a 接龙 snapshot is merged into its thread (docs/channels.md §3.6): by each entry's
  // author (solitaire_info), or by the member who posted it. Return the entries taken.
  std::size_t MergeByAuthor(const std::string& file, Group& g, Thread& t, const ChatMessage& m,
                            const SolitaireList& list);
  std::size_t MergeByPoster(const std::string& file, Group& g, Thread& t, const ChatMessage& m,
                            const SolitaireList& list);
  // Records one participant's 接龙 entry (answers, and the building it names).
  void TakeEntry(const std::string& file, Group& g, Thread& t, const ChatMessage& m, const std::string& wxid,
                 const std::string& name, const std::string& entry, std::int64_t time_ms);
  // The keyed respondent key of a member: by wxid when known, else by (group, display name).
  std::string RespondentKey(const Group& g, const std::string& wxid, const std::string& name);
  // RespondentKey's keyed hashes by their input, at most kMaxRememberedKeys (emptied when full): the same
  // members answer and post again and again, and each hash is an HMAC.
  static constexpr std::size_t kMaxRememberedKeys = 65536;
  std::unordered_map<std::string, std::string> keys_;
  // Parses `text` against `questions` and records the answers for the member; returns false (and
  // lists the issue) when the text gives none.
  bool Record(const std::string& file, Group& g, const ChatMessage& m, const std::string& participant_wxid,
              const std::string& participant_name, const std::string& text, std::int64_t time_ms,
              const std::vector<const Question*>& questions, bool try_unanswered_first, bool dedupe_message);
  // False when the text holds nothing the reply parser could read (a cheap test before parsing).
  bool MayHoldAnswer(std::string_view text, const std::vector<const Question*>& questions) const;
  void AddIssue(const std::string& file, std::size_t line, const char* category, std::string reason,
                std::string_view text);

  const SurveyDefinition& survey_;
  const AreaRegistry& areas_;
  const RespondentKeyer& keyer_;
  WechatImportOptions options_;
  std::set<std::string> global_grid_workers_;
  std::set<std::string> global_safe_grid_workers_;  // those SafeName changes, so written
  std::set<std::string> global_grid_worker_keys_;   // NameKey of each, for quote headers
  std::vector<std::pair<std::vector<std::string>, std::vector<const Question*>>> markers_;  // folded markers
  // MayHoldAnswer's quick test, by BMP code point: whether the character begins a numeral or an opt-out
  // word of its list (kNumeral), begins or ends an option label or alias of any of the survey's
  // questions (kWordFirst, kWordLast), or is a form the parser reads as a digit or letter on its own
  // (kReadable: fullwidth, circled, enclosed, dingbat, compatibility forms); and the first and last
  // characters of each such word.
  static constexpr unsigned kNumeral = 1, kWordFirst = 2, kWordLast = 4, kUnsure = 8, kReadable = 16;
  std::vector<std::uint8_t> answer_chars_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> word_ends_;
  // The survey's option words, folded once (collector/common/reply_parser.h).
  PreparedSurvey reply_words_;
  // The reply parser's reading (reply_words_), remembered for short texts (kMaxRememberedReplyBytes) by
  // questions and text: the same few answers ("1", "满意", "很安全 满意") come again and again. At most
  // kMaxRememberedReplies entries.
  ParsedReply Parse(std::string_view text, const std::vector<const Question*>& questions);
  static constexpr std::size_t kMaxRememberedReplyBytes = 32, kMaxRememberedReplies = 4096;
  std::unordered_map<std::string, ParsedReply> parsed_;
  std::map<std::string, Group> groups_;
  std::map<std::string, Member> members_;  // by respondent key
  std::map<std::string, Thread> threads_;  // by group key + header
  std::unordered_set<std::uint64_t> seen_;
  std::set<std::string> unmapped_groups_reported_;
  WechatReport report_;
  std::size_t file_index_ = 0;  // the file AddFile is reading (index into report_.files)
};

// The time of the first message of an export (for ordering several files), nullopt when none can be
// read. Reads only the beginning of the stream.
std::optional<std::int64_t> FirstMessageTime(std::istream& raw, int utc_offset_minutes);

}  // namespace minyi::collector::wechat
