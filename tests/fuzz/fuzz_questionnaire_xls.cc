// 问卷星 .xls exports (FreeXL, through a temporary file): fuzz_questionnaire_table.cc for XLS only, a
// separate target because FreeXL opens a file per input (slower) and its findings are FreeXL's.
#define MINYI_FUZZ_XLS 1
#include "tests/fuzz/fuzz_questionnaire_table.cc"
