// The main window on the offscreen platform: welcome page, open/create/refuse, navigation,
// persisted geometry and recent list, About box. Screenshots go to build/screenshots/.
#include "moin/ui/mainwindow.h"
#include "moin/ui/recentworkspaces.h"
#include "moin/ui/workspacecontroller.h"
#include "moin/version.h"
#include "moin/workspace.h"

#include <QApplication>
#include <QDir>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QSettings>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

using moin::ui::MainWindow;

namespace {
void saveScreenshot(QWidget& widget, const QString& name)
{
    const QString dir = QStringLiteral(MOIN_BINARY_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QVERIFY(widget.grab().save(dir + "/" + name + ".png"));
}
} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void welcomePageWithoutWorkspace();
    void createsAndOpensWorkspace();
    void refusesNonWorkspaceFolder();
    void navigationShowsEveryView();
    void persistsGeometryAndRecent();
    void aboutNamesLibraryVersions();

private:
    QTemporaryDir m_settingsDir;
    QTemporaryDir m_tmp;
};

void TestMainWindow::initTestCase()
{
    QApplication::setOrganizationName("MoIN-tests");
    QApplication::setApplicationName("tst_mainwindow");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
}

void TestMainWindow::init() { QSettings().clear(); }

void TestMainWindow::welcomePageWithoutWorkspace()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.windowTitle(), QString("MoIN Studio"));
    auto* recent = window.findChild<QListWidget*>("recentWorkspaces");
    QVERIFY(recent && recent->isVisible());
    QVERIFY(window.findChild<QWidget*>("newWorkspaceButton")->isVisible());
    QVERIFY(!window.findChild<QListWidget*>("navigation")->isVisible());
    saveScreenshot(window, "welcome");
}

void TestMainWindow::createsAndOpensWorkspace()
{
    const QString dir = m_tmp.filePath("fresh");
    MainWindow window;
    window.show();
    QSignalSpy opened(window.controller(), &moin::ui::WorkspaceController::opened);
    window.openWorkspace(dir, /*createIfMissing=*/true);
    QVERIFY(opened.wait(20000));
    QVERIFY(moin::Workspace::exists(dir.toStdString()));
    QCOMPARE(window.windowTitle(), QString("fresh — MoIN Studio"));
    QVERIFY(window.findChild<QListWidget*>("navigation")->isVisible());
    auto* activity = window.findChild<QTreeWidget*>("activityLog");
    QCOMPARE(activity->topLevelItemCount(), 1);
    QVERIFY(activity->topLevelItem(0)->text(2).contains("created workspace"));
    QCOMPARE(moin::ui::RecentWorkspaces::list().value(0), QDir(dir).absolutePath());
    saveScreenshot(window, "overview");

    QSignalSpy closed(window.controller(), &moin::ui::WorkspaceController::closed);
    window.closeWorkspace();
    QCOMPARE(closed.size(), 1);
    QVERIFY(window.findChild<QListWidget*>("recentWorkspaces")->isVisible());
}

void TestMainWindow::refusesNonWorkspaceFolder()
{
    QTemporaryDir folder;
    QFile other(folder.filePath("notes.txt"));
    QVERIFY(other.open(QIODevice::WriteOnly));
    other.write("not a workspace");
    other.close();

    MainWindow window;
    window.show();
    QSignalSpy errors(&window, &MainWindow::errorShown);
    // A non-empty folder is never turned into a workspace behind the user's back.
    window.openWorkspace(folder.path(), /*createIfMissing=*/true);
    QVERIFY(errors.wait(20000));
    QVERIFY2(errors.first().first().toString().contains("not a MoIN Studio workspace"),
             qPrintable(errors.first().first().toString()));
    QVERIFY(!moin::Workspace::exists(folder.path().toStdString()));
    QCOMPARE(QDir(folder.path()).entryList(QDir::Files), QStringList{"notes.txt"});
    auto* box = window.findChild<QMessageBox*>("errorBox");
    QVERIFY(box && box->isVisible());
    saveScreenshot(window, "error");
    box->accept();
    QVERIFY(!window.controller()->isOpen());
}

void TestMainWindow::navigationShowsEveryView()
{
    MainWindow window;
    window.show();
    QSignalSpy opened(window.controller(), &moin::ui::WorkspaceController::opened);
    window.openWorkspace(m_tmp.filePath("views"), true);
    QVERIFY(opened.wait(20000));
    auto* navigation = window.findChild<QListWidget*>("navigation");
    QCOMPARE(navigation->count(), 5);
    const QStringList names = {"overview", "corpus", "map", "experts", "chat"};
    for (int row = 0; row < navigation->count(); ++row) {
        window.showView(static_cast<MainWindow::View>(row));
        QCOMPARE(window.currentView(), static_cast<MainWindow::View>(row));
        QCOMPARE(navigation->currentRow(), row);
        saveScreenshot(window, "view-" + names[row]);
    }
}

void TestMainWindow::persistsGeometryAndRecent()
{
    const QString dir = m_tmp.filePath("persist");
    QSize opensWith; // nothing stored yet (init() cleared it)
    {
        MainWindow fresh;
        fresh.show();
        opensWith = fresh.size();
    }
    QSize closedWith;
    {
        MainWindow window;
        window.show();
        // The window's minimum size grows with the font, so it may keep more than asked for:
        // what comes back is the size it had, which must differ from the one it opens with.
        window.resize(1000, 700);
        closedWith = window.size();
        QVERIFY2(closedWith != opensWith,
                 qPrintable(QString("resized to %1x%2, the size it opens with")
                                .arg(closedWith.width())
                                .arg(closedWith.height())));
        QSignalSpy opened(window.controller(), &moin::ui::WorkspaceController::opened);
        window.openWorkspace(dir, true);
        QVERIFY(opened.wait(20000));
        window.showView(MainWindow::View::Chat);
        window.close();
    }
    MainWindow again;
    QCOMPARE(again.size(), closedWith);
    QCOMPARE(again.currentView(), MainWindow::View::Chat);
    auto* recent = again.findChild<QListWidget*>("recentWorkspaces");
    QCOMPARE(recent->item(0)->data(Qt::UserRole).toString(), QDir(dir).absolutePath());
}

void TestMainWindow::aboutNamesLibraryVersions()
{
    MainWindow window;
    window.show();
    QAction* about = nullptr;
    for (QAction* action : window.findChildren<QAction*>()) {
        if (action->text() == "&About MoIN Studio")
            about = action;
    }
    QVERIFY(about);
    about->trigger();
    auto* box = window.findChild<QMessageBox*>("aboutBox");
    QVERIFY(box);
    const QString text = box->text();
    QVERIFY2(text.contains(QString::fromStdString(moin::torchVersion())), qPrintable(text));
    QVERIFY2(text.contains(QString::fromStdString(moin::faissVersion())), qPrintable(text));
    QVERIFY2(text.contains(QString::fromLatin1(qVersion())), qPrintable(text));
    saveScreenshot(*box, "about");
    box->accept();
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
