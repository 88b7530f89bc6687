#include "moin/ui/recentworkspaces.h"

#include <QDir>
#include <QSettings>

namespace moin::ui {

namespace {
constexpr auto kKey = "workspaces/recent";

QString normalized(const QString& directory)
{
    return QDir::cleanPath(QDir(directory).absolutePath());
}
} // namespace

QStringList RecentWorkspaces::list() { return QSettings().value(kKey).toStringList(); }

void RecentWorkspaces::add(const QString& directory)
{
    QStringList entries = list();
    const QString entry = normalized(directory);
    entries.removeAll(entry);
    entries.prepend(entry);
    while (entries.size() > kMaxEntries)
        entries.removeLast();
    QSettings().setValue(kKey, entries);
}

void RecentWorkspaces::remove(const QString& directory)
{
    QStringList entries = list();
    entries.removeAll(normalized(directory));
    QSettings().setValue(kKey, entries);
}

void RecentWorkspaces::clear() { QSettings().remove(kKey); }

} // namespace moin::ui
