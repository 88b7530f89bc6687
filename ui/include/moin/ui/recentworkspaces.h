#pragma once
#include <QStringList>

namespace moin::ui {

/// The most recently used workspace folders, newest first, kept in QSettings.
class RecentWorkspaces {
public:
    static constexpr int kMaxEntries = 10;

    static QStringList list();
    /// Moves `directory` to the front (adding it if new) and trims the list.
    static void add(const QString& directory);
    static void remove(const QString& directory);
    static void clear();
};

} // namespace moin::ui
