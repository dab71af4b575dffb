"""An officer's day in the web console, driven in Chromium by Playwright.

Run by tests/e2e/console.rs against a server it started and filled:
    officer_day.py BASE_URL PASSWORD SCREENSHOT_DIR JSON_FACTS
JSON_FACTS names the campaign, the village, the submissions and the surveyor.
Every step asserts what a person would check on screen; a screenshot of each
page goes to SCREENSHOT_DIR. The last line printed is JSON for the Rust side.
"""

import json
import sys

from playwright.sync_api import expect, sync_playwright

BASE, PASSWORD, SHOTS, FACTS = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
REASON = "Ảnh trùng với ảnh của hộ H1: chụp lại bản cam kết của hộ này"
shot_number = [0]


def shot(page, name):
    shot_number[0] += 1
    page.screenshot(path=f"{SHOTS}/{shot_number[0]:02d}-{name}.png", full_page=True)


def log_in(browser, username, viewport=None):
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{BASE}/login")
    expect(page.locator("label[for=username]")).to_have_text("Tên đăng nhập")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not log in: {page.content()[:500]}"
    return context, page


def covered(page):
    page.goto(f"{BASE}/coverage?campaign={FACTS['campaign']}&area={FACTS['village']}")
    return int(page.locator("[data-target=household_reporting] span.covered").inner_text().replace(".", ""))


def csrf_of(page):
    return page.locator("input[name=_csrf]").first.get_attribute("value")


with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=FACTS["chromium"], args=["--no-sandbox"])

    # The login refuses a wrong password, in Vietnamese.
    context, page = browser.new_context(), None
    page = context.new_page()
    page.goto(f"{BASE}/login")
    shot(page, "login")
    page.get_by_label("Tên đăng nhập").fill("officer")
    page.get_by_label("Mật khẩu").fill("not-the-password")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("p.error")).to_contain_text("Sai tên đăng nhập hoặc mật khẩu")
    context.close()

    officer_context, officer = log_in(browser, "officer")
    before = covered(officer)

    # The queue, riskiest first: the reused photo leads, with its chip.
    officer.goto(f"{BASE}/queue")
    expect(officer.get_by_role("heading", name="Phiếu chờ duyệt")).to_be_visible()
    rows = officer.locator("#queue tbody tr")
    expect(rows).to_have_count(3)
    first = rows.first
    assert first.get_attribute("data-submission") == str(FACTS["reused"]), first.get_attribute("data-submission")
    expect(first.locator(".chip.high")).to_have_text("Ảnh dùng lại")
    expect(officer.locator("#queue td.thumb img").first).to_be_visible()
    shot(officer, "queue")

    # The riskiest submission: the flag in words, the two photos side by side, the map.
    first.get_by_role("link").click()
    expect(officer.locator("#flags")).to_contain_text("trùng hệt tệp ảnh")
    expect(officer.locator("section.reuse figure")).to_have_count(2)
    expect(officer.locator("svg#map")).to_be_visible()
    expect(officer.locator("#map .boundary")).to_have_count(1)
    expect(officer.locator("#answers")).to_contain_text("Người ký")
    shot(officer, "submission-reused-photo")

    # Rejecting needs a reason; with one, the next submission of the queue opens.
    officer.get_by_role("button", name="Trả lại").click()
    assert f"/submissions/{FACTS['reused']}" in officer.url, "no reason: the page stays"
    officer.get_by_label("Ý kiến (bắt buộc khi trả lại)").fill(REASON)
    officer.get_by_role("button", name="Trả lại").click()
    expect(officer.locator("#decided")).to_contain_text(f"#{FACTS['reused']}")
    landed = int(officer.url.split("/submissions/")[1].split("?")[0])
    assert landed in FACTS["clean"], officer.url

    # A keyboard shortcut approves it and moves on.
    officer.keyboard.press("a")
    officer.wait_for_url(lambda url: f"decided={landed}" in url)
    approved = landed
    untouched = next(i for i in FACTS["clean"] if i != approved)
    shot(officer, "submission-after-decisions")

    # The coverage bar moved by the approval.
    after = covered(officer)
    assert after == before + 1, f"coverage {before} -> {after}"
    expect(officer.locator("#households")).to_be_visible()
    expect(officer.locator("#households")).to_contain_text("Còn thiếu")
    shot(officer, "coverage-village")
    officer.goto(f"{BASE}/coverage?campaign={FACTS['campaign']}")
    expect(officer.locator("#children")).to_be_visible()
    shot(officer, "coverage-province")
    officer.goto(f"{BASE}/coverage?campaign={FACTS['campaign']}&area={FACTS['village']}")
    officer.locator("#print-gaps").click()
    expect(officer.locator("#gap-list h1")).to_have_text("Danh sách còn thiếu cam kết")
    assert int(officer.locator("#gap-total").inner_text()) > 0
    officer.emulate_media(media="print")
    shot(officer, "gap-list-print")
    officer.emulate_media(media="screen")

    # Reports on screen and as files.
    officer.goto(f"{BASE}/reports?campaign={FACTS['campaign']}&kind=daily")
    expect(officer.locator("table.report")).to_be_visible()
    shot(officer, "report-daily")
    xlsx = officer.request.get(BASE + officer.locator("#download-xlsx").get_attribute("href"))
    assert xlsx.status == 200 and "spreadsheetml" in xlsx.headers["content-type"], xlsx.status
    csv = officer.request.get(BASE + officer.locator("#download-csv").get_attribute("href"))
    assert csv.status == 200 and "Tổng cộng" in csv.text(), csv.status

    # A POST without the form's token is refused, and changes nothing.
    forged = officer.request.post(f"{BASE}/submissions/{untouched}/review", form={"decision": "approve"})
    assert forged.status == 403, forged.status
    assert "Biểu mẫu đã cũ" in forged.text()

    # English on request.
    officer.goto(f"{BASE}/lang?to=en&back=/queue")
    expect(officer.get_by_role("heading", name="Review queue")).to_be_visible()
    shot(officer, "queue-english")
    officer.goto(f"{BASE}/lang?to=vi&back=/queue")
    expect(officer.get_by_role("heading", name="Phiếu chờ duyệt")).to_be_visible()

    # A phone-sized screen.
    phone_context, phone = log_in(browser, "officer", {"width": 390, "height": 844})
    phone.goto(f"{BASE}/queue?status=all")
    shot(phone, "queue-phone")
    phone.goto(f"{BASE}/submissions/{untouched}")
    shot(phone, "submission-phone")
    phone_context.close()

    # A viewer reads but cannot review, not even by posting the form by hand.
    viewer_context, viewer = log_in(browser, "viewer")
    viewer.goto(f"{BASE}/submissions/{untouched}")
    expect(viewer.locator("#flags")).to_be_visible()
    expect(viewer.locator("#review-form")).to_have_count(0)
    shot(viewer, "viewer-submission")
    refused = viewer.request.post(
        f"{BASE}/submissions/{untouched}/review",
        form={"_csrf": csrf_of(viewer), "decision": "approve"},
        headers={"Origin": BASE},
    )
    assert refused.status == 403, refused.status
    assert "Bạn không có quyền" in refused.text()

    # An officer of another commune cannot open it by editing the URL.
    other_context, other = log_in(browser, "officer2")
    response = other.goto(f"{BASE}/submissions/{untouched}")
    assert response.status == 404, response.status
    expect(other.locator("h1")).to_have_text("Không tìm thấy trong địa bàn của bạn")
    shot(other, "other-commune-refused")
    other_context.close()

    # Administration: a phone for the surveyor, with its QR code; then the
    # viewer is deactivated and is out at once.
    admin_context, admin = log_in(browser, "admin")
    admin.goto(f"{BASE}/admin/users")
    shot(admin, "admin-users")
    admin.goto(f"{BASE}/admin/users/{FACTS['surveyor']}")
    admin.get_by_label("Tên điện thoại").fill("Điện thoại tổ 1")
    admin.get_by_role("button", name="Thêm điện thoại").click()
    qr = admin.locator("figure.qr img")
    expect(qr).to_be_visible()
    # Visible is laid out, not yet decoded: wait for the image itself.
    admin.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    assert admin.evaluate("img => img.naturalWidth", qr.element_handle()) >= 200
    shot(admin, "admin-user-phone-qr")
    for path, name in [("/admin/imports", "admin-imports"), ("/admin/forms", "admin-forms"), ("/admin/campaigns", "admin-campaigns")]:
        admin.goto(BASE + path)
        shot(admin, name)
    admin.goto(f"{BASE}/admin/users/{FACTS['viewer']}")
    admin.locator("#deactivate").click()
    expect(admin.locator("#user-state")).to_contain_text("Đã khoá")
    viewer.goto(f"{BASE}/queue")
    assert "/login" in viewer.url, viewer.url
    admin_context.close()
    viewer_context.close()

    # Logging out ends the session for good.
    officer.get_by_role("button", name="Đăng xuất").click()
    officer.goto(f"{BASE}/queue")
    assert "/login" in officer.url, officer.url
    officer_context.close()
    browser.close()

print(json.dumps({"approved": approved, "rejected": FACTS["reused"], "untouched": untouched, "reason": REASON}))
