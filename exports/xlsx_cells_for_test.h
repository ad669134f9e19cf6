// Tests only: reads back every sheet of an .xlsx written by the exports, independently of
// libxlsxwriter, so tests can check cells and not only the zip signature. Poco Zip opens the
// package, Poco XML's DOM parser reads the workbook, its relationships, the shared strings and each
// worksheet. Header-only; link Poco::Zip and Poco::XML.
#pragma once

#include <Poco/DOM/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/StreamCopier.h>
#include <Poco/Zip/ZipArchive.h>
#include <Poco/Zip/ZipStream.h>

#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace minyi::exports::testing {

// A cell as the file stores it: a string (shared or inline) or a number/boolean as its text.
struct XlsxCell {
  std::string text;
  bool is_string = false;
};

// Sheet name → "A1"-style reference → cell.
using XlsxSheets = std::map<std::string, std::map<std::string, XlsxCell>>;

inline std::string XlsxMember(const std::string& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  Poco::Zip::ZipArchive archive(in);
  auto it = archive.findHeader(name);
  if (it == archive.headerEnd()) return "";
  in.clear();
  in.seekg(static_cast<std::streamoff>(it->second.getStartPos()));
  Poco::Zip::ZipInputStream member(in, it->second);
  std::string out;
  Poco::StreamCopier::copyToString(member, out);
  return out;
}

inline Poco::XML::AutoPtr<Poco::XML::Document> XlsxXml(const std::string& text) {
  Poco::XML::DOMParser parser;
  return parser.parseString(text);
}

// The concatenated text of every <t> below `node` (a shared string may have rich-text runs).
inline std::string XlsxText(Poco::XML::Element* node) {
  std::string out;
  Poco::XML::AutoPtr<Poco::XML::NodeList> ts = node->getElementsByTagName("t");
  for (unsigned long i = 0; i < ts->length(); ++i) out += ts->item(i)->innerText();
  return out;
}

inline XlsxSheets ReadXlsxSheets(const std::string& path) {
  std::vector<std::string> shared;
  const std::string sst = XlsxMember(path, "xl/sharedStrings.xml");
  if (!sst.empty()) {
    auto doc = XlsxXml(sst);
    Poco::XML::AutoPtr<Poco::XML::NodeList> items = doc->getElementsByTagName("si");
    for (unsigned long i = 0; i < items->length(); ++i) {
      shared.push_back(XlsxText(static_cast<Poco::XML::Element*>(items->item(i))));
    }
  }
  std::map<std::string, std::string> targets;  // relationship id → part
  {
    auto rels = XlsxXml(XlsxMember(path, "xl/_rels/workbook.xml.rels"));
    Poco::XML::AutoPtr<Poco::XML::NodeList> list = rels->getElementsByTagName("Relationship");
    for (unsigned long i = 0; i < list->length(); ++i) {
      auto* e = static_cast<Poco::XML::Element*>(list->item(i));
      targets[e->getAttribute("Id")] = "xl/" + e->getAttribute("Target");
    }
  }
  XlsxSheets sheets;
  auto workbook = XlsxXml(XlsxMember(path, "xl/workbook.xml"));
  Poco::XML::AutoPtr<Poco::XML::NodeList> list = workbook->getElementsByTagName("sheet");
  for (unsigned long i = 0; i < list->length(); ++i) {
    auto* sheet = static_cast<Poco::XML::Element*>(list->item(i));
    auto& cells = sheets[sheet->getAttribute("name")];
    auto doc = XlsxXml(XlsxMember(path, targets.at(sheet->getAttribute("r:id"))));
    Poco::XML::AutoPtr<Poco::XML::NodeList> cs = doc->getElementsByTagName("c");
    for (unsigned long j = 0; j < cs->length(); ++j) {
      auto* c = static_cast<Poco::XML::Element*>(cs->item(j));
      XlsxCell cell;
      const std::string type = c->getAttribute("t");
      Poco::XML::Element* v = c->getChildElement("v");
      if (type == "s") {
        cell.is_string = true;
        cell.text = shared.at(std::stoul(v->innerText()));
      } else if (type == "inlineStr" || type == "str") {
        cell.is_string = true;
        cell.text = type == "str" && v != nullptr ? v->innerText() : XlsxText(c);
      } else if (v != nullptr) {
        cell.text = v->innerText();
      }
      cells[c->getAttribute("r")] = cell;
    }
  }
  return sheets;
}

}  // namespace minyi::exports::testing
