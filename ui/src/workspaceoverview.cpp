#include "workspaceoverview.h"

#include "moin/model.h"
#include "moin/workspace.h"

#include <QDateTime>
#include <QDir>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace moin::ui {

namespace {
QString localTime(const std::string& isoUtc)
{
    const QDateTime time = QDateTime::fromString(QString::fromStdString(isoUtc), Qt::ISODateWithMs);
    return time.isValid() ? QLocale().toString(time.toLocalTime(), QLocale::ShortFormat)
                          : QString::fromStdString(isoUtc);
}
} // namespace

WorkspaceOverview::WorkspaceOverview(QWidget* parent) : QWidget(parent)
{
    m_title = new QLabel;
    QFont font = m_title->font();
    font.setPointSizeF(font.pointSizeF() * 1.6);
    font.setBold(true);
    m_title->setFont(font);
    m_folder = new QLabel;
    m_folder->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_schema = new QLabel;
    m_created = new QLabel;
    m_baseModel = new QLabel;
    m_baseModel->setObjectName("baseModel");
    m_baseModel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_baseModel->setWordWrap(true);

    auto* details = new QGroupBox(tr("Workspace"));
    auto* form = new QFormLayout(details);
    form->addRow(tr("Folder:"), m_folder);
    form->addRow(tr("Created:"), m_created);
    form->addRow(tr("Base model:"), m_baseModel);
    form->addRow(tr("Schema version:"), m_schema);

    auto* activityBox = new QGroupBox(tr("Activity"));
    m_activity = new QTreeWidget;
    m_activity->setObjectName("activityLog");
    m_activity->setRootIsDecorated(false);
    m_activity->setHeaderLabels({tr("When"), tr("Process"), tr("What")});
    m_activity->header()->setSectionResizeMode(2, QHeaderView::Stretch);
    m_activity->setAlternatingRowColors(true);
    auto* activityLayout = new QVBoxLayout(activityBox);
    activityLayout->addWidget(m_activity);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(details);
    layout->addWidget(activityBox, 1);
}

void WorkspaceOverview::showWorkspace(Workspace& workspace)
{
    m_title->setText(QString::fromStdString(workspace.name()));
    m_folder->setText(QDir::toNativeSeparators(QString::fromStdString(workspace.directory())));
    m_schema->setText(QString::number(workspace.schemaVersion()));
    m_created->setText(tr("%1 by %2")
                           .arg(localTime(workspace.meta("created_at").value_or("?")),
                                QString::fromStdString(workspace.meta("created_by").value_or("?"))));
    const std::string base = workspace.meta("base_model").value_or("");
    QString baseText = base.empty() ? tr("none recorded") : QDir::toNativeSeparators(
                                                                QString::fromStdString(base));
    try {
        const LlamaConfig config = LlamaConfig::load(base + "/config.json");
        baseText += tr("\nLlama, %1 M parameters: %2 layers, hidden size %3, %4 heads "
                       "(%5 key/value), vocabulary %6, context %7")
                        .arg(double(config.parameterCount()) / 1e6, 0, 'f', 1)
                        .arg(config.numLayers)
                        .arg(config.hiddenSize)
                        .arg(config.numHeads)
                        .arg(config.numKvHeads)
                        .arg(config.vocabSize)
                        .arg(config.maxPositions);
    } catch (const std::exception& e) {
        baseText += tr("\nNot readable: %1").arg(QString::fromUtf8(e.what()));
    }
    m_baseModel->setText(baseText);
    m_activity->clear();
    for (const ActivityEntry& entry : workspace.activity(200)) {
        auto* item = new QTreeWidgetItem({localTime(entry.at), QString::number(entry.pid),
                                          QString::fromStdString(entry.message)});
        m_activity->insertTopLevelItem(0, item); // newest on top
    }
    m_activity->resizeColumnToContents(0);
    m_activity->resizeColumnToContents(1);
}

void WorkspaceOverview::clear()
{
    m_title->clear();
    m_folder->clear();
    m_schema->clear();
    m_created->clear();
    m_baseModel->clear();
    m_activity->clear();
}

} // namespace moin::ui
