"""Common chat: 帮助, 取消, follow events, and the fallback answer."""
