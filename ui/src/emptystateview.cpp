#include "emptystateview.h"

#include <QIcon>
#include <QLabel>
#include <QVBoxLayout>

namespace moin::ui {

EmptyStateView::EmptyStateView(const QIcon& icon, const QString& title, const QString& purpose,
                               QWidget* parent)
    : QWidget(parent)
{
    auto* iconLabel = new QLabel;
    iconLabel->setPixmap(icon.pixmap(64, 64));
    iconLabel->setAlignment(Qt::AlignCenter);
    auto* titleLabel = new QLabel(title);
    QFont font = titleLabel->font();
    font.setPointSizeF(font.pointSizeF() * 1.6);
    font.setBold(true);
    titleLabel->setFont(font);
    titleLabel->setAlignment(Qt::AlignCenter);
    auto* purposeLabel = new QLabel(purpose);
    purposeLabel->setWordWrap(true);
    purposeLabel->setAlignment(Qt::AlignCenter);
    purposeLabel->setMaximumWidth(520);
    m_status = new QLabel;
    m_status->setObjectName("emptyStateStatus");
    m_status->setWordWrap(true);
    m_status->setAlignment(Qt::AlignCenter);
    m_status->setMaximumWidth(520);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QPalette muted = m_status->palette();
    muted.setColor(QPalette::WindowText, muted.color(QPalette::Disabled, QPalette::WindowText));
    m_status->setPalette(muted);

    auto* layout = new QVBoxLayout(this);
    layout->addStretch();
    layout->addWidget(iconLabel);
    layout->addWidget(titleLabel);
    layout->addWidget(purposeLabel, 0, Qt::AlignHCenter);
    layout->addSpacing(12);
    layout->addWidget(m_status, 0, Qt::AlignHCenter);
    layout->addStretch();
}

void EmptyStateView::setStatus(const QString& status) { m_status->setText(status); }

} // namespace moin::ui
