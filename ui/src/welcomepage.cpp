#include "welcomepage.h"

#include "moin/ui/recentworkspaces.h"

#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace moin::ui {

WelcomePage::WelcomePage(QWidget* parent) : QWidget(parent)
{
    auto* logo = new QLabel;
    logo->setPixmap(QIcon(":/moin/icons/moin-studio.svg").pixmap(96, 96));
    auto* title = new QLabel(tr("MoIN Studio"));
    title->setObjectName("welcomeTitle");
    QFont titleFont = title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 2.2);
    titleFont.setBold(true);
    title->setFont(titleFont);
    auto* subtitle = new QLabel(
        tr("Split a corpus into semantic groups, train one LoRA expert per group on a frozen "
           "base model, and answer each query with the expert nearest to it."));
    subtitle->setWordWrap(true);
    subtitle->setMaximumWidth(560);

    auto* newButton = new QPushButton(tr("New workspace…"));
    newButton->setObjectName("newWorkspaceButton");
    newButton->setDefault(true);
    auto* openButton = new QPushButton(tr("Open workspace…"));
    openButton->setObjectName("openWorkspaceButton");
    connect(newButton, &QPushButton::clicked, this, &WelcomePage::newWorkspaceRequested);
    connect(openButton, &QPushButton::clicked, this, &WelcomePage::openWorkspaceRequested);

    auto* recentLabel = new QLabel(tr("Recent workspaces"));
    QFont bold = recentLabel->font();
    bold.setBold(true);
    recentLabel->setFont(bold);
    m_recent = new QListWidget;
    m_recent->setObjectName("recentWorkspaces");
    m_recent->setMaximumWidth(560);
    m_recent->setMinimumHeight(160);
    connect(m_recent, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        emit recentWorkspaceActivated(item->data(Qt::UserRole).toString());
    });

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(newButton);
    buttons->addWidget(openButton);
    buttons->addStretch();

    auto* column = new QVBoxLayout;
    auto* header = new QHBoxLayout;
    header->addWidget(logo);
    auto* headerText = new QVBoxLayout;
    headerText->addWidget(title);
    headerText->addWidget(subtitle);
    header->addLayout(headerText, 1);
    column->addLayout(header);
    column->addSpacing(16);
    column->addLayout(buttons);
    column->addSpacing(16);
    column->addWidget(recentLabel);
    column->addWidget(m_recent);
    column->addStretch();

    auto* outer = new QHBoxLayout(this);
    outer->addStretch();
    outer->addLayout(column);
    outer->addStretch();
    outer->setContentsMargins(32, 48, 32, 32);
    refresh();
}

void WelcomePage::refresh()
{
    m_recent->clear();
    for (const QString& directory : RecentWorkspaces::list()) {
        const bool present = QFileInfo::exists(directory);
        auto* item = new QListWidgetItem(
            QStringLiteral("%1\n%2").arg(QDir(directory).dirName(),
                                         QDir::toNativeSeparators(directory)));
        item->setData(Qt::UserRole, directory);
        item->setToolTip(present ? directory : tr("%1 (folder not found)").arg(directory));
        if (!present)
            item->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
        m_recent->addItem(item);
    }
    if (m_recent->count() == 0) {
        auto* item = new QListWidgetItem(tr("No recent workspaces yet."));
        item->setFlags(Qt::NoItemFlags);
        m_recent->addItem(item);
    }
}

} // namespace moin::ui
