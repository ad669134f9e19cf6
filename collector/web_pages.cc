#include "collector/web_pages.h"

#include "core/http/router.h"

namespace minyi::collector {
namespace {

using http::HtmlEscape;

std::string Head(std::string_view title) {
  return "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"format-detection\" content=\"telephone=no\">"
         "<title>" + HtmlEscape(title) + "</title>"
         "<link rel=\"stylesheet\" href=\"/static/web.css\">"
         "<script src=\"/static/web.js\" defer></script></head>\n<body><main>\n";
}

constexpr std::string_view kFoot = "</main></body></html>\n";

std::string Hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + HtmlEscape(name) + "\" value=\"" + HtmlEscape(value) + "\">";
}

bool Chosen(const Answers& answers, const std::string& question, const std::string& option) {
  auto it = answers.find(question);
  if (it == answers.end()) return false;
  for (const auto& v : it->second) {
    if (v == option) return true;
  }
  return false;
}

std::string ErrorLine(const std::map<std::string, std::string>& errors, const std::string& key) {
  auto it = errors.find(key);
  if (it == errors.end()) return "";
  return "<p class=\"err\" id=\"err-" + HtmlEscape(key) + "\">" + HtmlEscape(it->second) + "</p>";
}

std::string TownSection(const FormView& v, const AreaRegistry& areas) {
  std::string out = "<fieldset class=\"q" + std::string(v.errors.count("town") ? " bad" : "") +
                    "\" id=\"q-town\"><legend>您所在的乡镇（街道）</legend>";
  out += ErrorLine(v.errors, "town");
  if (!v.fixed_town.empty()) {
    out += "<p class=\"fixed\">" + HtmlEscape(areas.FullName(v.fixed_town)) + "</p></fieldset>";
    return out;
  }
  out += "<label class=\"lbl\" for=\"county\">第一步：选择区县</label><select name=\"county\" id=\"county\">"
         "<option value=\"\">请选择区县</option>";
  for (const Area* city : areas.Children("32")) {
    out += "<optgroup label=\"" + HtmlEscape(city->name) + "\">";
    for (const Area* county : areas.Children(city->code)) {
      out += "<option value=\"" + HtmlEscape(county->code) + "\"" + (county->code == v.county ? " selected" : "") +
             ">" + HtmlEscape(county->name) + "</option>";
    }
    out += "</optgroup>";
  }
  out += "</select>";
  if (!v.county.empty()) {
    out += "<label class=\"lbl\" for=\"town\">第二步：选择乡镇（街道）</label><select name=\"town\" id=\"town\">"
           "<option value=\"\">请选择乡镇（街道）</option>";
    for (const Area* town : v.town_choices) {
      out += "<option value=\"" + HtmlEscape(town->code) + "\"" + (town->code == v.town ? " selected" : "") + ">" +
             HtmlEscape(town->name) + "</option>";
    }
    out += "</select>";
  }
  out += "<label class=\"lbl\" for=\"town_name\">" +
         std::string(v.county.empty() ? "也可以输入乡镇（街道）名称" : "或者输入名称查找") +
         "</label><input type=\"text\" name=\"town_name\" id=\"town_name\" autocomplete=\"off\" value=\"" +
         HtmlEscape(v.town_name) + "\" placeholder=\"例如：长西街道\">";
  out += "<button type=\"submit\" name=\"action\" value=\"county\" id=\"pick-county\" class=\"secondary\">"
         "查找乡镇（街道）</button></fieldset>";
  return out;
}

}  // namespace

std::string RenderSurveyForm(const FormView& v, const AreaRegistry& areas, const PrivacyNotice& privacy) {
  const SurveyDefinition& survey = *v.survey;
  std::string out = Head(survey.title);
  out += "<h1>" + HtmlEscape(survey.title) + "</h1>\n";
  out += "<p class=\"lead\">共 " + std::to_string(survey.questions.size()) +
         " 题，大约需要 2 分钟。不需要填写姓名和电话。</p>\n";
  out += "<details class=\"notice\" open><summary>个人信息保护说明</summary>"
         "<p><b>收集单位：</b>" + HtmlEscape(privacy.controller) + "</p>"
         "<p><b>用途：</b>" + HtmlEscape(privacy.purpose) + "</p>"
         "<p><b>保存期限：</b>" + HtmlEscape(privacy.retention) + "</p>"
         "<p>提交即表示您同意按上述说明处理您的答卷。</p></details>\n";
  if (!v.notice.empty()) out += "<div class=\"alert\" role=\"alert\">" + HtmlEscape(v.notice) + "</div>\n";
  if (!v.errors.empty()) {
    out += "<div class=\"alert\" role=\"alert\">还有 " + std::to_string(v.errors.size()) +
           " 处需要修改，请看下面的红色提示。</div>\n";
  }
  out += "<form class=\"survey\" method=\"post\" action=\"/s/" + HtmlEscape(survey.id) + "\">";
  out += Hidden("k", v.idempotency_key) + Hidden("rt", v.rendered_at) + Hidden("csrf", v.csrf);
  if (!v.token.empty()) out += Hidden("t", v.token);
  out += "\n" + TownSection(v, areas) + "\n";
  int number = 0;
  for (const Question& q : survey.questions) {
    ++number;
    const bool bad = v.errors.count(q.code) != 0;
    out += "<fieldset class=\"q" + std::string(bad ? " bad" : "") + "\" id=\"q-" + HtmlEscape(q.code) + "\"><legend>" +
           std::to_string(number) + ". " + HtmlEscape(q.text) +
           (q.required ? "<span class=\"req\">（必答）</span>" : "<span class=\"opt-note\">（选答）</span>") +
           (q.type == QuestionType::kMulti ? "<span class=\"opt-note\">（可多选）</span>" : "") + "</legend>";
    out += ErrorLine(v.errors, q.code);
    const std::string name = "q_" + q.code;
    if (q.type == QuestionType::kText) {
      auto it = v.answers.find(q.code);
      const std::string text = it != v.answers.end() && !it->second.empty() ? it->second.front() : "";
      out += "<textarea name=\"" + HtmlEscape(name) + "\" rows=\"4\" maxlength=\"2000\" aria-label=\"" +
             HtmlEscape(q.text) + "\">" + HtmlEscape(text) + "</textarea>";
    } else {
      const char* type = q.type == QuestionType::kMulti ? "checkbox" : "radio";
      for (const Option& o : q.options) {
        out += "<label class=\"choice\"><input type=\"" + std::string(type) + "\" name=\"" + HtmlEscape(name) +
               "\" value=\"" + HtmlEscape(o.code) + "\"" + (Chosen(v.answers, q.code, o.code) ? " checked" : "") +
               "><span>" + HtmlEscape(o.label) + "</span></label>";
      }
    }
    out += "</fieldset>\n";
  }
  out += "<button type=\"submit\" name=\"action\" value=\"submit\" class=\"primary\">提交问卷</button>"
         "</form>\n";
  out += kFoot;
  return out;
}

std::string RenderMessagePage(std::string_view title, std::string_view heading, std::string_view message) {
  return Head(title) + "<section class=\"message\"><h1>" + HtmlEscape(heading) + "</h1><p>" + HtmlEscape(message) +
         "</p></section>\n" + std::string(kFoot);
}

std::string ChineseFieldMessage(const FieldError& e) {
  const std::string& r = e.reason;
  if (e.field == "town") {
    if (r == "is required") return "请选择您所在的乡镇（街道）。";
    return "没有找到这个乡镇（街道），请重新选择。";
  }
  if (r.find("required") != std::string::npos) return "这一题必须回答，请选择一项。";
  if (r.find("characters long") != std::string::npos) return "内容太长了，请不要超过 2000 字。";
  if (r.find("no-answer option") != std::string::npos) return "“说不清/不了解”不能和其他选项同时选择。";
  if (r.find("not valid UTF-8") != std::string::npos) return "内容里有无法识别的字符，请修改后再提交。";
  return "这一题的回答无效，请重新选择。";
}

std::string_view WebCss() {
  return R"css(*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:#111;font:20px/1.6 -apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif}
main{max-width:40rem;margin:0 auto;padding:1rem 1rem 3rem}
h1{font-size:1.6rem;line-height:1.35;margin:.5rem 0 1rem;color:#000}
.lead{margin:0 0 1rem}
.notice{border:2px solid #0b4f9c;border-radius:.5rem;padding:.6rem .9rem;margin:0 0 1.2rem;background:#f2f7fd}
.notice summary{font-weight:700;cursor:pointer;color:#0b4f9c}
.notice p{margin:.4rem 0;font-size:1.05rem}
.alert{border:3px solid #b00020;background:#fff0f1;color:#7a0016;font-weight:700;padding:.8rem 1rem;border-radius:.5rem;margin:0 0 1rem}
fieldset.q{border:2px solid #555;border-radius:.6rem;margin:0 0 1.2rem;padding:.8rem 1rem 1rem}
fieldset.q.bad{border-color:#b00020;border-width:3px}
legend{font-weight:700;font-size:1.15rem;padding:0 .3rem}
.req{color:#b00020;font-weight:700}
.opt-note{color:#333;font-weight:400}
.err{color:#b00020;font-weight:700;margin:.2rem 0 .6rem}
.fixed{font-weight:700;margin:.3rem 0}
label.choice{display:flex;align-items:center;gap:.8rem;min-height:3.2rem;margin:.5rem 0;padding:.5rem .8rem;border:2px solid #767676;border-radius:.5rem;cursor:pointer}
label.choice input{width:1.6rem;height:1.6rem;flex:none;margin:0;accent-color:#0b4f9c}
label.choice:has(input:checked){border-color:#0b4f9c;background:#e3eefb;font-weight:700}
.lbl{display:block;font-weight:700;margin:.8rem 0 .3rem}
select,input[type=text],textarea{width:100%;font:inherit;padding:.6rem .7rem;border:2px solid #333;border-radius:.5rem;background:#fff;color:#000;min-height:3.2rem}
textarea{min-height:7rem}
button{font:inherit;font-weight:700;border-radius:.6rem;cursor:pointer;width:100%;min-height:3.6rem;margin:.8rem 0 0}
button.primary{background:#0b4f9c;color:#fff;border:3px solid #0b4f9c;font-size:1.3rem}
button.secondary{background:#fff;color:#0b4f9c;border:2px solid #0b4f9c}
button[aria-disabled=true]{opacity:.6}
:focus-visible{outline:4px solid #f5a400;outline-offset:2px}
.message{text-align:center;padding:2rem 0}
.message h1{font-size:1.8rem}
)css";
}

std::string_view WebJs() {
  return R"js(// Optional progressive enhancement; the pages work without it.
document.addEventListener('DOMContentLoaded', function () {
  var county = document.getElementById('county');
  var pick = document.getElementById('pick-county');
  if (county && pick) {
    county.addEventListener('change', function () { pick.click(); });
  }
  var form = document.querySelector('form.survey');
  if (!form) return;
  form.addEventListener('submit', function (event) {
    var button = event.submitter;
    if (!button || button.value !== 'submit') return;
    if (form.getAttribute('data-sent') === '1') { event.preventDefault(); return; }
    form.setAttribute('data-sent', '1');
    button.setAttribute('aria-disabled', 'true');
    button.textContent = '正在提交…';
  });
});
)js";
}

}  // namespace minyi::collector
