// moin-studio: the desktop application.
#include "moin/blaskernels.h"
#include "moin/ui/appsettings.h"
#include "moin/ui/mainwindow.h"
#include "moin/ui/workspacecontroller.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QTimer>

int main(int argc, char** argv)
{
    moin::ensureFastBlasKernels(argv); // may start this program again, before any work
    QApplication app(argc, argv);
    QApplication::setOrganizationName("MoIN");
    QApplication::setApplicationName("MoIN Studio");
    QApplication::setApplicationVersion(MOIN_VERSION);
    QApplication::setDesktopFileName("moin-studio");
    QApplication::setWindowIcon(QIcon(":/moin/icons/moin-studio.svg"));
    // Before any text is made: the language chosen in Settings, else the system's.
    moin::ui::AppSettings::installTranslators(moin::ui::AppSettings::language());

    QCommandLineParser parser;
    parser.setApplicationDescription(QApplication::translate(
        "main", "Train, inspect and chat with a mixture of introvert experts."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(
        "DIR", QApplication::translate("main", "Workspace to open; created if the folder is "
                                               "missing or empty."),
        "[DIR]");
    QCommandLineOption screenshot(
        "screenshot",
        QApplication::translate("main", "Save a picture of the window to FILE once the "
                                        "workspace is shown, then quit."),
        "FILE");
    QCommandLineOption view("view",
                            QApplication::translate("main", "View to show first: overview, "
                                                            "corpus, map, experts or chat."),
                            "NAME");
    parser.addOption(screenshot);
    parser.addOption(view);
    parser.process(app);

    moin::ui::MainWindow window;
    window.show();

    const QStringList views = {"overview", "corpus", "map", "experts", "chat"};
    if (parser.isSet(view)) {
        const int index = views.indexOf(parser.value(view));
        if (index < 0) {
            qCritical("moin-studio: unknown view '%s'; use one of: %s",
                      qPrintable(parser.value(view)), qPrintable(views.join(", ")));
            return 2;
        }
        window.showView(static_cast<moin::ui::MainWindow::View>(index));
    }

    const auto saveScreenshotAndQuit = [&] {
        // Let layouts and pending paints settle before grabbing.
        QTimer::singleShot(300, &window, [&] {
            const QString file = parser.value(screenshot);
            if (!window.grab().save(file))
                qCritical("moin-studio: cannot write screenshot %s", qPrintable(file));
            app.quit();
        });
    };
    if (!parser.positionalArguments().isEmpty()) {
        const QString dir = parser.positionalArguments().constFirst();
        if (parser.isSet(screenshot)) {
            QObject::connect(window.controller(), &moin::ui::WorkspaceController::opened,
                             &window, saveScreenshotAndQuit);
            QObject::connect(window.controller(), &moin::ui::WorkspaceController::failed,
                             &window, saveScreenshotAndQuit);
        }
        window.openWorkspace(QDir(dir).absolutePath(), /*createIfMissing=*/true);
    } else if (parser.isSet(screenshot)) {
        saveScreenshotAndQuit();
    }
    return app.exec();
}
