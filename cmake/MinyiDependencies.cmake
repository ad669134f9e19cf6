# Every third-party dependency is found here, once, as an imported target. All come from Debian
# packages (see minyi.sh for the list).
find_package(Threads REQUIRED)
find_package(Poco REQUIRED COMPONENTS Foundation Util Net JSON Crypto)
find_package(SQLite3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
include(GoogleTest)
# Eigen (Debian libeigen3-dev, headers only): the linear algebra of the small-area model (aggregator/small_area.cc).
find_package(Eigen3 3.3 REQUIRED NO_MODULE)

# MySQL Connector/C++ 1.1 (Debian libmysqlcppconn-dev) ships no CMake config.
find_path(MYSQLCPPCONN_INCLUDE_DIR mysql_driver.h REQUIRED)
find_library(MYSQLCPPCONN_LIBRARY mysqlcppconn REQUIRED)
add_library(MySQL::ConnectorCpp UNKNOWN IMPORTED)
set_target_properties(MySQL::ConnectorCpp PROPERTIES
  IMPORTED_LOCATION "${MYSQLCPPCONN_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${MYSQLCPPCONN_INCLUDE_DIR}")

find_path(SODIUM_INCLUDE_DIR sodium.h REQUIRED)
find_library(SODIUM_LIBRARY sodium REQUIRED)
add_library(Sodium::Sodium UNKNOWN IMPORTED)
set_target_properties(Sodium::Sodium PROPERTIES
  IMPORTED_LOCATION "${SODIUM_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${SODIUM_INCLUDE_DIR}")

# ICU (Debian libicu-dev): NFKC normalization of SMS replies.
find_package(ICU REQUIRED COMPONENTS uc i18n)

# libphonenumber (Debian libphonenumber-dev) ships no CMake config: E.164 normalization of phone numbers.
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h REQUIRED)
find_library(PHONENUMBER_LIBRARY phonenumber REQUIRED)
add_library(PhoneNumber::PhoneNumber UNKNOWN IMPORTED)
set_target_properties(PhoneNumber::PhoneNumber PROPERTIES
  IMPORTED_LOCATION "${PHONENUMBER_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${PHONENUMBER_INCLUDE_DIR}")

# Questionnaire exports (collector/questionnaire/): FreeXL (Debian libfreexl-dev, pkg-config only) reads
# 问卷星 .xls (BIFF); PocoZip + PocoXML read 腾讯问卷 .xlsx downloads.
find_package(Poco REQUIRED COMPONENTS Zip XML)
find_package(PkgConfig REQUIRED)
pkg_check_modules(FREEXL REQUIRED IMPORTED_TARGET freexl)
