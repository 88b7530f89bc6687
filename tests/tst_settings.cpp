// Settings and translations on the offscreen platform: the Settings dialog lists the devices,
// stores and restores its values (in a temporary QSettings scope), Restore Defaults, the main
// window's Settings… action, the German translation switched in and out, and a check that
// the German .ts translates every tr() string of the sources (run through lupdate here, so a
// new untranslated string fails it). Screenshots: build/screenshots/settings{,-de}.png.
#include "../ui/src/settingsdialog.h"
#include "../ui/src/trainingform.h"
#include "moin/device.h"
#include "moin/ui/appsettings.h"
#include "moin/ui/mainwindow.h"

#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QXmlStreamReader>

using moin::ui::AppSettings;
using moin::ui::MainWindow;
using moin::ui::SettingsDialog;

namespace {
void saveScreenshot(QWidget& widget, const QString& name)
{
    const QString dir = QStringLiteral(MOIN_BINARY_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QVERIFY(widget.grab().save(dir + "/" + name + ".png"));
}

QStringList itemData(const QComboBox* box)
{
    QStringList data;
    for (int i = 0; i < box->count(); ++i)
        data << box->itemData(i).toString();
    return data;
}

/// "%1", "%L2", "%n" of a message, sorted: a translation must keep every one.
QStringList placeholders(const QString& text)
{
    static const QRegularExpression pattern(QStringLiteral("%L?(\\d+|n)"));
    QStringList found;
    for (auto it = pattern.globalMatch(text); it.hasNext();)
        found << it.next().captured(0);
    found.sort();
    return found;
}

/// True when the text has a keyboard accelerator: "&" before a letter (not "&&").
bool hasAccelerator(const QString& text)
{
    static const QRegularExpression pattern(QStringLiteral("(^|[^&])&[^&\\s]"));
    return pattern.match(text).hasMatch();
}

QString mainMenuTitle(MainWindow& window, int index)
{
    return window.menuBar()->actions().value(index)->text();
}
} // namespace

class TestSettings : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();
    void defaultsWithoutSettings();
    void dialogListsDevicesAndLanguages();
    void savesAndShowsValues();
    void keepsDeviceNotAvailableHere();
    void restoreDefaultsAndCancel();
    void mainWindowOpensAndAppliesSettings();
    void germanTranslationSwitches();
    void systemLanguageFollowsLocale();
    void germanTranslationIsComplete();

private:
    QTemporaryDir m_settingsDir;
};

void TestSettings::initTestCase()
{
    QApplication::setOrganizationName("MoIN-tests");
    QApplication::setApplicationName("tst_settings");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QVERIFY(m_settingsDir.isValid());
}

void TestSettings::init() { QSettings().clear(); }

void TestSettings::cleanup()
{
    AppSettings::installTranslators(QStringLiteral("en"));
    QLocale::setDefault(QLocale::c());
}

void TestSettings::defaultsWithoutSettings()
{
    QCOMPARE(AppSettings::device(), QString("auto"));
    QCOMPARE(AppSettings::threads(), 0);
    QCOMPARE(AppSettings::trainingWorkers(), 1);
    QCOMPARE(AppSettings::threadsPerWorker(), 0);
    QCOMPARE(AppSettings::adapterCacheMiB(), 256);
    QCOMPARE(AppSettings::language(), QString());

    const moin::ServingOptions serving = AppSettings::servingOptions();
    QCOMPARE(serving.device, std::string("auto"));
    QCOMPARE(serving.adapterCacheBytes, moin::ServingOptions().adapterCacheBytes);
    // Automatic threads are LibTorch's own count, so that a reload undoes an explicit one.
    QCOMPARE(serving.threads, moin::computeThreads());
    moin::CoordinatorOptions coordinator;
    coordinator.devices = {"cuda:3"};
    AppSettings::applyTo(coordinator);
    QVERIFY(coordinator.devices.empty()); // the coordinator spreads over the GPUs itself
    QCOMPARE(coordinator.workers, 1);
    QCOMPARE(coordinator.threadsPerWorker, 0);
}

void TestSettings::dialogListsDevicesAndLanguages()
{
    SettingsDialog dialog;
    QStringList expected{"auto"};
    for (const moin::ComputeDevice& device : moin::availableDevices())
        expected << QString::fromStdString(device.id);
    QCOMPARE(itemData(dialog.deviceBox()), expected);
    QVERIFY(expected.contains("cpu"));
    QCOMPARE(dialog.deviceBox()->currentData().toString(), QString("auto"));
    QVERIFY(dialog.deviceBox()->itemText(0).startsWith("Automatic ("));
    QCOMPARE(dialog.deviceBox()->itemText(expected.indexOf("cpu")), QString("CPU"));

    // System language first, then every shipped translation found among the embedded .qm.
    QCOMPARE(itemData(dialog.languageBox()), (QStringList{"", "de", "en"}));
    QCOMPARE(dialog.languageBox()->itemText(1), QString("Deutsch"));
    QCOMPARE(dialog.languageBox()->itemText(2), QString("English"));
    QCOMPARE(dialog.adapterCacheBox()->value(), 256);
    QCOMPARE(dialog.threadsBox()->maximum(), std::max(1, QThread::idealThreadCount()));
    QCOMPARE(dialog.threadsBox()->text(), QString("Automatic"));

    // Every field and its label explain themselves.
    const QList<QWidget*> fields{dialog.deviceBox(),       dialog.threadsBox(),
                                 dialog.workersBox(),      dialog.threadsPerWorkerBox(),
                                 dialog.adapterCacheBox(), dialog.languageBox()};
    for (QWidget* field : fields)
        QVERIFY2(!field->toolTip().isEmpty(), qPrintable(field->objectName()));
    QVERIFY(dialog.adapterCacheBox()->toolTip().contains("Default: 256 MiB"));

    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    saveScreenshot(dialog, "settings");
}

void TestSettings::savesAndShowsValues()
{
    {
        SettingsDialog dialog;
        dialog.deviceBox()->setCurrentIndex(dialog.deviceBox()->findData("cpu"));
        dialog.threadsBox()->setValue(1);
        dialog.workersBox()->setValue(3);
        dialog.threadsPerWorkerBox()->setValue(1);
        dialog.adapterCacheBox()->setValue(512);
        dialog.languageBox()->setCurrentIndex(dialog.languageBox()->findData("de"));
        dialog.buttons()->button(QDialogButtonBox::Ok)->click();
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        QCOMPARE(int(dialog.changes()), int(SettingsDialog::ServingChanged
                                            | SettingsDialog::TrainingChanged
                                            | SettingsDialog::LanguageChanged));
    }
    QCOMPARE(AppSettings::device(), QString("cpu"));
    QCOMPARE(AppSettings::threads(), 1);
    QCOMPARE(AppSettings::trainingWorkers(), 3);
    QCOMPARE(AppSettings::threadsPerWorker(), 1);
    QCOMPARE(AppSettings::adapterCacheMiB(), 512);
    QCOMPARE(AppSettings::language(), QString("de"));
    // The training form remembers its workers under the same key.
    QCOMPARE(moin::ui::TrainingForm::lastWorkers(), 3);

    const moin::ServingOptions serving = AppSettings::servingOptions();
    QCOMPARE(serving.device, std::string("cpu"));
    QCOMPARE(serving.threads, 1);
    QCOMPARE(serving.adapterCacheBytes, int64_t(512) << 20);
    moin::CoordinatorOptions coordinator;
    AppSettings::applyTo(coordinator);
    QCOMPARE(coordinator.devices, std::vector<std::string>{"cpu"});
    QCOMPARE(coordinator.workers, 3);
    QCOMPARE(coordinator.threadsPerWorker, 1);

    // A new dialog (as after a restart) shows what was stored; OK without edits changes nothing.
    SettingsDialog again;
    QCOMPARE(again.deviceBox()->currentData().toString(), QString("cpu"));
    QCOMPARE(again.threadsBox()->value(), 1);
    QCOMPARE(again.workersBox()->value(), 3);
    QCOMPARE(again.threadsPerWorkerBox()->value(), 1);
    QCOMPARE(again.adapterCacheBox()->value(), 512);
    QCOMPARE(again.languageBox()->currentData().toString(), QString("de"));
    again.accept();
    QCOMPARE(int(again.changes()), int(SettingsDialog::NoChange));
}

void TestSettings::keepsDeviceNotAvailableHere()
{
    AppSettings::setDevice("cuda:7");
    SettingsDialog dialog;
    QCOMPARE(dialog.deviceBox()->currentData().toString(), QString("cuda:7"));
    QCOMPARE(dialog.deviceBox()->currentText(), QString("CUDA device 7 (not available here)"));
    dialog.accept();
    QCOMPARE(AppSettings::device(), QString("cuda:7"));
    QCOMPARE(int(dialog.changes()), int(SettingsDialog::NoChange));
}

void TestSettings::restoreDefaultsAndCancel()
{
    AppSettings::setDevice("cpu");
    AppSettings::setThreads(1);
    AppSettings::setTrainingWorkers(5);
    AppSettings::setThreadsPerWorker(1);
    AppSettings::setAdapterCacheMiB(1024);
    AppSettings::setLanguage("de");

    {
        // Cancel forgets the edits.
        SettingsDialog dialog;
        dialog.workersBox()->setValue(9);
        dialog.buttons()->button(QDialogButtonBox::Cancel)->click();
        QCOMPARE(dialog.result(), int(QDialog::Rejected));
        QCOMPARE(AppSettings::trainingWorkers(), 5);
    }

    SettingsDialog dialog;
    dialog.findChild<QPushButton*>("restoreDefaults")->click();
    // Shown at once, stored only on OK.
    QCOMPARE(dialog.deviceBox()->currentData().toString(), QString("auto"));
    QCOMPARE(dialog.threadsBox()->value(), 0);
    QCOMPARE(dialog.workersBox()->value(), 1);
    QCOMPARE(dialog.threadsPerWorkerBox()->value(), 0);
    QCOMPARE(dialog.adapterCacheBox()->value(), 256);
    QCOMPARE(dialog.languageBox()->currentData().toString(), QString());
    QCOMPARE(AppSettings::trainingWorkers(), 5);
    dialog.buttons()->button(QDialogButtonBox::Ok)->click();
    QCOMPARE(AppSettings::device(), QString("auto"));
    QCOMPARE(AppSettings::threads(), 0);
    QCOMPARE(AppSettings::trainingWorkers(), 1);
    QCOMPARE(AppSettings::threadsPerWorker(), 0);
    QCOMPARE(AppSettings::adapterCacheMiB(), 256);
    QCOMPARE(AppSettings::language(), QString());

    AppSettings::setAdapterCacheMiB(64);
    AppSettings::restoreDefaults();
    QCOMPARE(AppSettings::adapterCacheMiB(), 256);
}

void TestSettings::mainWindowOpensAndAppliesSettings()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QAction* action = window.findChild<QAction*>("settingsAction");
    QVERIFY(action);
    QCOMPARE(action->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_Comma));
    action->trigger();
    auto* dialog = window.findChild<SettingsDialog*>();
    QVERIFY(dialog && dialog->isVisible());
    dialog->workersBox()->setValue(4);
    dialog->deviceBox()->setCurrentIndex(dialog->deviceBox()->findData("cpu"));
    dialog->buttons()->button(QDialogButtonBox::Ok)->click();
    QCOMPARE(AppSettings::trainingWorkers(), 4);
    // The Experts & training view starts its next training with the new worker count.
    QCOMPARE(window.findChild<QSpinBox*>("workersSpin")->value(), 4);
    // ... and a count chosen there is the one Settings shows next.
    window.findChild<QSpinBox*>("workersSpin")->setValue(2);
    QCOMPARE(AppSettings::trainingWorkers(), 2);
    bool deviceShown = false;
    for (QLabel* label : window.statusBar()->findChildren<QLabel*>())
        deviceShown = deviceShown || label->text() == "Device: CPU";
    QVERIFY(deviceShown);
    QVERIFY(!window.findChild<QMessageBox*>("restartBox"));

    // A new language is offered a restart (nothing runs); Later keeps the window as it is.
    window.findChild<QAction*>("settingsAction")->trigger();
    dialog = window.findChild<SettingsDialog*>();
    QVERIFY(dialog);
    dialog->languageBox()->setCurrentIndex(dialog->languageBox()->findData("de"));
    dialog->buttons()->button(QDialogButtonBox::Ok)->click();
    auto* box = window.findChild<QMessageBox*>("restartBox");
    QVERIFY(box && box->isVisible());
    QVERIFY(box->findChild<QPushButton*>("restartNow"));
    for (QAbstractButton* button : box->buttons()) {
        if (box->buttonRole(button) == QMessageBox::RejectRole)
            button->click();
    }
    QTRY_VERIFY(!window.findChild<QMessageBox*>("restartBox"));
    QVERIFY(window.isVisible());
    QCOMPARE(AppSettings::language(), QString("de"));
}

void TestSettings::germanTranslationSwitches()
{
    QVERIFY(AppSettings::availableLanguages().contains("de"));
    QCOMPARE(AppSettings::installTranslators("de"), QString("de"));
    QCOMPARE(QCoreApplication::translate("moin::ui::MainWindow", "&File"), QString("&Datei"));
    {
        MainWindow window;
        QCOMPARE(mainMenuTitle(window, 0), QString("&Datei"));
        QCOMPARE(mainMenuTitle(window, 1), QString("&Ansicht"));
        QCOMPARE(mainMenuTitle(window, 2), QString("&Hilfe"));
        QCOMPARE(window.findChild<QAction*>("settingsAction")->text(),
                 QString("&Einstellungen …"));
    }
    {
        SettingsDialog dialog;
        QCOMPARE(dialog.windowTitle(), QString("Einstellungen"));
        QCOMPARE(dialog.threadsBox()->text(), QString("Automatisch"));
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        saveScreenshot(dialog, "settings-de");
    }

    // Back to the source language: the next window is English again.
    QCOMPARE(AppSettings::installTranslators("en"), QString("en"));
    MainWindow window;
    QCOMPARE(mainMenuTitle(window, 0), QString("&File"));
    // A language without a translation falls back to English.
    QCOMPARE(AppSettings::installTranslators("xx"), QString("en"));
    QCOMPARE(QCoreApplication::translate("moin::ui::MainWindow", "&File"), QString("&File"));
}

void TestSettings::systemLanguageFollowsLocale()
{
    QLocale::setDefault(QLocale(QLocale::German, QLocale::Germany));
    QCOMPARE(AppSettings::installTranslators(QString()), QString("de"));
    QCOMPARE(QCoreApplication::translate("moin::ui::SettingsDialog", "Settings"),
             QString("Einstellungen"));
    QLocale::setDefault(QLocale(QLocale::French, QLocale::France));
    QCOMPARE(AppSettings::installTranslators(QString()), QString("en"));
    QCOMPARE(QCoreApplication::translate("moin::ui::SettingsDialog", "Settings"),
             QString("Settings"));
}

void TestSettings::germanTranslationIsComplete()
{
    // lupdate merges the current sources into a copy of the German .ts: a tr() string added
    // without a translation shows up as unfinished.
    const QString source = QStringLiteral(MOIN_SOURCE_DIR);
    QTemporaryDir tmp;
    const QString ts = tmp.filePath("moin_studio_de.ts");
    QVERIFY(QFile::copy(source + "/translations/moin_studio_de.ts", ts));
    QFile::setPermissions(ts, QFile::ReadOwner | QFile::WriteOwner);
    QProcess lupdate;
    lupdate.setProcessChannelMode(QProcess::MergedChannels);
    lupdate.start(QStringLiteral(MOIN_LUPDATE_PATH),
                  {"-no-obsolete", "-locations", "none", "-I", source + "/ui/include", "-I",
                   source + "/ui/src", "-I", source + "/core/include", source + "/ui/src",
                   source + "/ui/include", source + "/app/moin_studio.cpp", "-ts", ts});
    QVERIFY(lupdate.waitForFinished(60000));
    const QString log = QString::fromLocal8Bit(lupdate.readAll());
    QVERIFY2(lupdate.exitCode() == 0, qPrintable(log));

    QFile file(ts);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&file);
    QString context;
    QString sourceText;
    QStringList translations;
    QString type;
    int messages = 0;
    QStringList problems;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement() && xml.name() == QLatin1String("name")) {
            context = xml.readElementText();
        } else if (xml.isStartElement() && xml.name() == QLatin1String("message")) {
            sourceText.clear();
            translations.clear();
            type.clear();
        } else if (xml.isStartElement() && xml.name() == QLatin1String("source")) {
            sourceText = xml.readElementText();
        } else if (xml.isStartElement() && xml.name() == QLatin1String("translation")) {
            type = xml.attributes().value("type").toString();
            // A plain translation is its text; a numerus one holds <numerusform>s.
            QString text;
            while (!(xml.isEndElement() && xml.name() == QLatin1String("translation"))
                   && !xml.atEnd()) {
                xml.readNext();
                if (xml.isCharacters())
                    text += xml.text();
                else if (xml.isEndElement() && xml.name() == QLatin1String("numerusform")) {
                    translations << text;
                    text.clear();
                }
            }
            if (translations.isEmpty())
                translations << text;
        } else if (xml.isEndElement() && xml.name() == QLatin1String("message")) {
            ++messages;
            const QString where = context + ": \"" + sourceText.left(60) + "\"";
            if (!type.isEmpty()) {
                problems << where + " is " + type;
                continue;
            }
            for (const QString& translation : translations) {
                if (translation.trimmed().isEmpty())
                    problems << where + " has an empty translation";
                else if (!sourceText.contains("%n")
                         && placeholders(translation) != placeholders(sourceText))
                    problems << where + " loses or adds a placeholder: \"" + translation + "\"";
                else if (hasAccelerator(sourceText) && !hasAccelerator(translation))
                    problems << where + " loses its accelerator: \"" + translation + "\"";
            }
        }
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY2(messages > 600, qPrintable(QString("only %1 messages").arg(messages)));
    QVERIFY2(problems.isEmpty(),
             qPrintable(QString("%1 of %2 messages are not fully translated; run the "
                                "update_translations target and translate them in "
                                "translations/moin_studio_de.ts:\n")
                            .arg(problems.size())
                            .arg(messages)
                        + problems.mid(0, 20).join('\n')));
}

QTEST_MAIN(TestSettings)
#include "tst_settings.moc"
